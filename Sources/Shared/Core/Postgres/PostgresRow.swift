/// The rows of a result, copied out of libpq so they can cross threads.
public struct PostgresResult: Sendable {
    /// Column names, in result order.
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated or deleted (`PQcmdTuples`); 0 for statements that report none.
    public let affectedRows: Int

    /// The first row, or nil for an empty result.
    public var first: PostgresRow? { rows.first }
}

/// One row: each column's value in PostgreSQL's text form, nil for `NULL`.
public struct PostgresRow: Sendable {
    let columns: ColumnIndex
    /// Raw values in column order.
    public let values: [String?]

    /// Decodes the named column; use an optional type for nullable columns.
    ///
    /// ```swift
    /// let id = try row.decode("id", as: Int64.self)
    /// let note = try row.decode("note", as: String?.self)
    /// ```
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columns.positions[column] else { throw PostgresError.missingColumn(column) }
        return try decode(index, as: type)
    }

    /// Decodes the column at `index` (0-based).
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard values.indices.contains(index) else { throw PostgresError.missingColumn("#\(index)") }
        let name = columns.names[index]
        guard let text = values[index] else { return try T.decodeNull(column: name) }
        guard let value = T(postgresText: text) else {
            throw PostgresError.decoding(column: name, type: String(describing: T.self), text: text)
        }
        return value
    }

    /// Column names and their positions, shared by every row of a result.
    final class ColumnIndex: Sendable {
        let names: [String]
        let positions: [String: Int]

        init(names: [String]) {
            self.names = names
            var positions: [String: Int] = [:]
            for (index, name) in names.enumerated() where positions[name] == nil {
                positions[name] = index
            }
            self.positions = positions
        }
    }
}
