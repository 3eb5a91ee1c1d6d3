import JunctionMapping

/// QuickBooks Online's entities as its Accounting API reference documents them, and the default
/// mapped record of each synced resource. Amounts are decimals in the entity's `CurrencyRef`;
/// `TxnDate` and `DueDate` are dates; `MetaData` times are ISO 8601 with the company's offset.
extension MappingCatalog {
    static let quickBooks: [ResourceMappingDefaults] = {
        let qbAddress = ["Line1", "Line2", "Line3", "City", "CountrySubDivisionCode", "PostalCode", "Country"]
        func reference(_ name: String) -> [String: FieldType] { [name: .object, "\(name).value": .string, "\(name).name": .string] }
        let common: [String: FieldType] = ["Id": .string, "SyncToken": .string, "domain": .string, "sparse": .boolean, "MetaData": .object,
                                           "MetaData.CreateTime": .isoTime, "MetaData.LastUpdatedTime": .isoTime] + reference("CurrencyRef")
        let times = [MappingRule("created_at", "MetaData.CreateTime", utcTime), MappingRule("updated_at", "MetaData.LastUpdatedTime", utcTime)]
        let currency = MappingRule("currency", "CurrencyRef.value", .upper)
        return [
            ResourceMappingDefaults("quickbooks", "customers", fields: common + [
                "DisplayName": .string, "GivenName": .string, "FamilyName": .string, "MiddleName": .string, "CompanyName": .string,
                "FullyQualifiedName": .string, "Title": .string, "Suffix": .string, "Notes": .string, "Active": .boolean, "Taxable": .boolean,
                "Balance": .decimal, "BalanceWithJobs": .decimal, "PreferredDeliveryMethod": .string,
                "PrimaryEmailAddr": .object, "PrimaryEmailAddr.Address": .string, "PrimaryPhone": .object, "PrimaryPhone.FreeFormNumber": .string,
                "Mobile": .object, "Mobile.FreeFormNumber": .string, "WebAddr": .object, "WebAddr.URI": .string,
            ] + address("BillAddr", qbAddress) + address("ShipAddr", qbAddress), defaults: [
                MappingRule("name", "DisplayName", .trim), MappingRule("email", "PrimaryEmailAddr.Address", .trim, .lower),
                MappingRule("phone", "PrimaryPhone.FreeFormNumber", .phone(region: "US")), MappingRule("company", "CompanyName", .trim),
            ] + addressRules("BillAddr", line1: "Line1", line2: "Line2", city: "City", region: "CountrySubDivisionCode", postalCode: "PostalCode", country: "Country")
              + [MappingRule("balance", "Balance"), currency, MappingRule("active", "Active")] + times),
            ResourceMappingDefaults("quickbooks", "invoices", fields: common + [
                "DocNumber": .string, "TxnDate": .date, "DueDate": .date, "TotalAmt": .decimal, "Balance": .decimal, "HomeTotalAmt": .decimal,
                "Deposit": .decimal, "EmailStatus": .string, "PrintStatus": .string, "PrivateNote": .string, "ApplyTaxAfterDiscount": .boolean,
                "BillEmail": .object, "BillEmail.Address": .string, "CustomerMemo": .object, "CustomerMemo.value": .string,
                "TxnTaxDetail": .object, "TxnTaxDetail.TotalTax": .decimal,
                "Line": .array(.object), "Line[*].Id": .string, "Line[*].LineNum": .integer, "Line[*].Description": .string,
                "Line[*].Amount": .decimal, "Line[*].DetailType": .string, "Line[*].SalesItemLineDetail": .object,
                "Line[*].SalesItemLineDetail.Qty": .number, "Line[*].SalesItemLineDetail.UnitPrice": .decimal,
            ] + reference("CustomerRef") + reference("Line[*].SalesItemLineDetail.ItemRef") + address("BillAddr", qbAddress), defaults: [
                MappingRule("number", "DocNumber"), MappingRule("customer_id", "CustomerRef.value"), MappingRule("customer_name", "CustomerRef.name"),
                MappingRule("total", "TotalAmt"), MappingRule("balance", "Balance"), currency,
                // QuickBooks keeps no status: an invoice with nothing left to pay is paid.
                MappingRule("status", "Balance", .lookup(table: ["0": "paid"], fallback: "open")),
                MappingRule("issued_on", "TxnDate", day), MappingRule("due_date", "DueDate", day),
                MappingRule("email", "BillEmail.Address", .trim, .lower),
            ] + times),
            ResourceMappingDefaults("quickbooks", "items", fields: common + [
                "Name": .string, "Sku": .string, "Description": .string, "Active": .boolean, "FullyQualifiedName": .string, "Type": .string,
                "UnitPrice": .decimal, "PurchaseCost": .decimal, "QtyOnHand": .number, "TrackQtyOnHand": .boolean, "Taxable": .boolean,
                "InvStartDate": .date,
            ] + reference("IncomeAccountRef") + reference("ExpenseAccountRef") + reference("AssetAccountRef"), defaults: [
                MappingRule("name", "Name", .trim), MappingRule("sku", "Sku"), MappingRule("description", "Description", .trim),
                MappingRule("type", "Type", .lower), MappingRule("price", "UnitPrice"), MappingRule("quantity_on_hand", "QtyOnHand"),
                MappingRule("active", "Active"),
            ] + times),
            ResourceMappingDefaults("quickbooks", "payments", fields: common + [
                "TxnDate": .date, "TotalAmt": .decimal, "UnappliedAmt": .decimal, "PaymentRefNum": .string, "PrivateNote": .string,
                "ProcessPayment": .boolean, "Line": .array(.object), "Line[*].Amount": .decimal, "Line[*].LinkedTxn": .array(.object),
                "Line[*].LinkedTxn[*].TxnId": .string, "Line[*].LinkedTxn[*].TxnType": .string,
            ] + reference("CustomerRef") + reference("PaymentMethodRef") + reference("DepositToAccountRef"), defaults: [
                MappingRule("amount", "TotalAmt"), MappingRule("unapplied", "UnappliedAmt"), currency,
                MappingRule("customer_id", "CustomerRef.value"), MappingRule("reference", "PaymentRefNum"),
                MappingRule("paid_on", "TxnDate", day), MappingRule("invoice_ids", "Line[*].LinkedTxn[*].TxnId"),
            ] + times),
            ResourceMappingDefaults("quickbooks", "accounts", fields: common + [
                "Name": .string, "FullyQualifiedName": .string, "AcctNum": .string, "AccountType": .string, "AccountSubType": .string,
                "Classification": .string, "CurrentBalance": .decimal, "CurrentBalanceWithSubAccounts": .decimal, "Active": .boolean,
                "SubAccount": .boolean, "Description": .string,
            ] + reference("ParentRef"), defaults: [
                MappingRule("name", "FullyQualifiedName", .trim), MappingRule("number", "AcctNum"), MappingRule("type", "AccountType"),
                MappingRule("classification", "Classification"), MappingRule("balance", "CurrentBalance"), currency,
                MappingRule("active", "Active"),
            ] + times),
        ]
    }()
}
