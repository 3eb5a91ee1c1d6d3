import Foundation
import JunctionCore

/// Deterministic data: the same count and seed value always give the same records, spread over
/// the past year in creation order.
enum Seed {
    static let mailchimpList = "a6b5da1054"
    static let quickBooksRealm = "9130355029834636"

    static func run(count: Int, into world: inout World) {
        guard count > 0 else { return }
        let now = Int64(Date().timeIntervalSince1970)
        let start = now - 365 * 86400
        let step = max(1, (365 * 86400) / Int64(count))
        var random = world.random
        var customers = world.stripe["customers"] ?? RecordCollection()
        var products = world.stripe["products"] ?? RecordCollection()
        var prices = world.stripe["prices"] ?? RecordCollection()
        var intents = world.stripe["payment_intents"] ?? RecordCollection()
        var charges = world.stripe["charges"] ?? RecordCollection()
        var invoices = world.stripe["invoices"] ?? RecordCollection()
        var subscriptions = world.stripe["subscriptions"] ?? RecordCollection()
        var refunds = world.stripe["refunds"] ?? RecordCollection()
        var disputes = world.stripe["disputes"] ?? RecordCollection()
        var squareCustomers = world.square["customers"] ?? RecordCollection()
        var squarePayments = world.square["payments"] ?? RecordCollection()
        var squareCatalog = world.square["catalog"] ?? RecordCollection()
        var squareOrders = world.square["orders"] ?? RecordCollection()
        var squareInventory = world.square["inventory"] ?? RecordCollection()
        var members = world.mailchimp["us6/\(mailchimpList)"] ?? RecordCollection()
        var qbCustomers = world.quickbooks["Customer"] ?? RecordCollection()
        var qbItems = world.quickbooks["Item"] ?? RecordCollection()
        var qbInvoices = world.quickbooks["Invoice"] ?? RecordCollection()
        var qbPayments = world.quickbooks["Payment"] ?? RecordCollection()
        var qbAccounts = world.quickbooks["Account"] ?? RecordCollection()
        // A small chart of accounts, as every QuickBooks company has.
        for (index, (name, type, subtype)) in [("Checking", "Bank", "Checking"), ("Savings", "Bank", "Savings"),
                                               ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
                                               ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
                                               ("Services", "Income", "ServiceFeeIncome"), ("Sales of Product Income", "Income", "SalesOfProductIncome"),
                                               ("Advertising", "Expense", "AdvertisingPromotional"), ("Rent or Lease", "Expense", "RentOrLeaseOfBuildings")].enumerated()
            where qbAccounts.find(String(index + 1)) == nil {
            _ = qbAccounts.insert(id: String(index + 1), created: start, updatedMs: start * 1000, fields: [
                "Id": .string(String(index + 1)), "Name": .string(name), "AccountType": .string(type), "AccountSubType": .string(subtype),
                "Classification": .string(type == "Income" ? "Revenue" : type == "Expense" ? "Expense" : "Asset"), "Active": true,
                "CurrentBalance": 0.0, "CurrencyRef": ["value": "USD", "name": "United States Dollar"], "SyncToken": "0",
            ])
        }

        let productCount = max(3, count / 100)
        var productIDs: [String] = []
        for index in 0..<productCount {
            let created = start + Int64(index)
            let id = "prod_" + random.token(14)
            productIDs.append(id)
            _ = products.insert(id: id, created: created, updatedMs: created * 1000, fields: [
                "id": .string(id), "object": "product", "name": .string(["Venue pass", "Ticket bundle", "Gift card", "Membership"][index % 4] + " \(index + 1)"),
                "active": true, "description": index % 3 == 0 ? .null : "Sold at the door and online", "created": .integer(created),
                "livemode": false, "metadata": [:],
            ])
            let priceID = "price_" + random.token(24)
            _ = prices.insert(id: priceID, created: created, updatedMs: created * 1000, fields: [
                "id": .string(priceID), "object": "price", "product": .string(id), "currency": "usd", "unit_amount": .integer(Int64(500 + index * 250)),
                "active": true, "type": "one_time", "recurring": .null, "nickname": .null, "created": .integer(created), "livemode": false, "metadata": [:],
            ])
            _ = squareCatalog.insert(id: "ITEM" + random.token(20).uppercased(), created: created, updatedMs: created * 1000, fields: [:])
            _ = qbItems.insert(id: String(index + 1), created: created, updatedMs: created * 1000, fields: [
                "Id": .string(String(index + 1)), "Name": .string("Item \(index + 1)"), "Type": "Service", "UnitPrice": .number(Double(5 + index)),
                "Active": true, "SyncToken": "0",
            ])
        }
        // Catalog objects need their own ids in their fields, and each a count in stock.
        for record in squareCatalog.records where record.fields.isEmpty {
            let quantity = record.id.unicodeScalars.reduce(0) { ($0 * 31 + Int($1.value)) % 1000 }
            _ = squareInventory.insert(id: "\(record.id):\(SquareAPI.location):IN_STOCK", created: record.created, updatedMs: record.created * 1000,
                                       fields: SquareAPI.inventoryCount(record.id, location: SquareAPI.location, state: "IN_STOCK", quantity: String(quantity),
                                                                        at: record.created * 1000))
            _ = squareCatalog.update(record.id) { $0.fields = [
                "type": "ITEM", "id": .string(record.id), "updated_at": .string(Timestamp.format(Date(timeIntervalSince1970: Double(record.created)))),
                "version": .integer(record.created * 1000), "is_deleted": false, "item_data": ["name": .string("Catalog item \(record.id.suffix(4))")],
            ] }
        }

        for index in 0..<count {
            let created = start + Int64(index) * step
            let person = People.make(index, &random)
            let customerID = "cus_" + random.token(14)
            _ = customers.insert(id: customerID, created: created, updatedMs: created * 1000, fields: [
                "id": .string(customerID), "object": "customer", "email": .string(person.email), "name": .string("\(person.first) \(person.last)"),
                "phone": person.phone.map(JSONValue.string) ?? .null, "description": person.note.map(JSONValue.string) ?? .null,
                "address": random.chance(0.4) ? .null : ["city": .string(person.city), "country": "US", "line1": .string("\(index % 900 + 1) Main St"), "line2": .null, "postal_code": "94107", "state": .null],
                "balance": 0, "currency": random.chance(0.5) ? "usd" : .null, "delinquent": false, "created": .integer(created), "livemode": false,
                "invoice_prefix": .string(random.token(8).uppercased()), "preferred_locales": [], "tax_exempt": "none",
                "metadata": random.chance(0.5) ? [:] : ["tenant": .string("venue-\(index % 50)")],
            ])
            if index % 2 == 0 {
                let intentID = "pi_" + random.token(24)
                let succeeded = index % 4 == 0
                let amount = Int64(500 + (index % 97) * 100)
                _ = intents.insert(id: intentID, created: created, updatedMs: created * 1000, fields: [
                    "id": .string(intentID), "object": "payment_intent", "amount": .integer(amount), "currency": "usd", "customer": .string(customerID),
                    "status": succeeded ? "succeeded" : "requires_payment_method", "amount_received": .integer(succeeded ? amount : 0),
                    "capture_method": "automatic", "description": .null, "created": .integer(created), "livemode": false, "metadata": [:],
                ])
                if succeeded {
                    let chargeID = "ch_" + random.token(24)
                    // Every fifth charge was refunded in full; every twenty-fifth disputed. Their ids
                    // come from the charge's, so the random sequence (and all other data) stays as it was.
                    let refunded = index % 20 == 0
                    _ = charges.insert(id: chargeID, created: created, updatedMs: created * 1000, fields: [
                        "id": .string(chargeID), "object": "charge", "amount": .integer(amount), "currency": "usd", "customer": .string(customerID),
                        "payment_intent": .string(intentID), "status": "succeeded", "paid": true, "refunded": .bool(refunded),
                        "amount_refunded": .integer(refunded ? amount : 0), "description": .null, "created": .integer(created), "livemode": false, "metadata": [:],
                    ])
                    if refunded {
                        let refundedAt = min(created + 3600, now)
                        let refundID = "re_" + chargeID.dropFirst(3)
                        _ = refunds.insert(id: refundID, created: refundedAt, updatedMs: refundedAt * 1000, fields: [
                            "id": .string(refundID), "object": "refund", "amount": .integer(amount), "currency": "usd", "charge": .string(chargeID),
                            "payment_intent": .string(intentID), "status": "succeeded", "reason": "requested_by_customer", "created": .integer(refundedAt), "metadata": [:],
                        ])
                    }
                    if index % 100 == 4 {
                        let disputedAt = min(created + 7200, now)
                        let disputeID = "dp_" + chargeID.dropFirst(3)
                        _ = disputes.insert(id: disputeID, created: disputedAt, updatedMs: disputedAt * 1000, fields: [
                            "id": .string(disputeID), "object": "dispute", "amount": .integer(amount), "currency": "usd", "charge": .string(chargeID),
                            "payment_intent": .string(intentID), "status": "needs_response", "reason": "fraudulent", "is_charge_refundable": false,
                            "evidence": [:], "created": .integer(disputedAt), "livemode": false, "metadata": [:],
                        ])
                    }
                }
                let paymentID = random.token(22).uppercased()
                // Its order; the id comes from the payment's, so the generator's sequence stays.
                let orderID = "ORD" + paymentID.dropFirst(3)
                let money: JSONValue = ["amount": .integer(amount), "currency": "USD"]
                _ = squareOrders.insert(id: orderID, created: created, updatedMs: created * 1000, fields: [
                    "id": .string(orderID), "location_id": .string(SquareAPI.location), "state": "COMPLETED", "version": 1,
                    "line_items": [["uid": "line-1", "name": "Venue pass", "quantity": "1", "base_price_money": money, "total_money": money]],
                    "total_money": money, "tenders": [["id": .string(paymentID), "type": "CARD", "amount_money": money, "payment_id": .string(paymentID)]],
                    "created_at": .string(Timestamp.format(Date(timeIntervalSince1970: Double(created)))),
                    "updated_at": .string(Timestamp.format(Date(timeIntervalSince1970: Double(created)))),
                ])
                _ = squarePayments.insert(id: paymentID, created: created, updatedMs: created * 1000, fields: [
                    "id": .string(paymentID), "amount_money": ["amount": .integer(amount), "currency": "USD"], "status": "COMPLETED",
                    "source_type": "CARD", "location_id": "L88917AVBK2S5", "created_at": .string(Timestamp.format(Date(timeIntervalSince1970: Double(created)))),
                    "updated_at": .string(Timestamp.format(Date(timeIntervalSince1970: Double(created)))),
                ])
            }
            if index % 4 == 1 {
                let invoiceID = "in_" + random.token(24)
                _ = invoices.insert(id: invoiceID, created: created, updatedMs: created * 1000, fields: [
                    "id": .string(invoiceID), "object": "invoice", "customer": .string(customerID), "status": "paid", "amount_due": 2500,
                    "amount_paid": 2500, "currency": "usd", "subscription": .null, "created": .integer(created), "livemode": false, "metadata": [:],
                ])
                let qbID = String(qbInvoices.count + 1)
                _ = qbInvoices.insert(id: qbID, created: created, updatedMs: created * 1000, fields: [
                    "Id": .string(qbID), "DocNumber": .string("10\(qbID)"), "CustomerRef": ["value": .string(String(index + 1))], "TotalAmt": 25.0,
                    "Balance": 0.0, "SyncToken": "0",
                ])
                // Every invoice is paid, half of them by their own payment record.
                if index % 8 == 1 {
                    let paymentID = String(qbPayments.count + 1)
                    _ = qbPayments.insert(id: paymentID, created: created, updatedMs: created * 1000, fields: [
                        "Id": .string(paymentID), "TotalAmt": 25.0, "UnappliedAmt": 0.0, "CustomerRef": ["value": .string(String(index + 1))],
                        "DepositToAccountRef": ["value": "4"], "TxnDate": .string(String(Timestamp.format(Date(timeIntervalSince1970: Double(created))).prefix(10))),
                        "Line": [["Amount": 25.0, "LinkedTxn": [["TxnId": .string(qbID), "TxnType": "Invoice"]]]], "SyncToken": "0",
                    ])
                }
            }
            if index % 10 == 3 {
                let subscriptionID = "sub_" + random.token(24)
                _ = subscriptions.insert(id: subscriptionID, created: created, updatedMs: created * 1000, fields: [
                    "id": .string(subscriptionID), "object": "subscription", "customer": .string(customerID), "status": "active",
                    "cancel_at_period_end": false, "items": ["object": "list", "data": [], "has_more": false], "created": .integer(created),
                    "livemode": false, "metadata": [:],
                ])
            }
            let squareID = random.token(26).uppercased()
            let stamp = Timestamp.format(Date(timeIntervalSince1970: Double(created)))
            _ = squareCustomers.insert(id: squareID, created: created, updatedMs: created * 1000, fields: [
                "id": .string(squareID), "given_name": .string(person.first), "family_name": .string(person.last), "email_address": .string(person.email),
                "phone_number": person.phone.map(JSONValue.string) ?? .null, "note": person.note.map(JSONValue.string) ?? .null,
                "created_at": .string(stamp), "updated_at": .string(stamp), "version": 0, "creation_source": "THIRD_PARTY",
            ])
            let memberID = Mailchimp.memberID(person.email)
            _ = members.insert(id: memberID, created: created, updatedMs: created * 1000, fields: [
                "id": .string(memberID), "email_address": .string(person.email), "status": random.chance(0.85) ? "subscribed" : "unsubscribed",
                "merge_fields": ["FNAME": .string(person.first), "LNAME": .string(person.last)], "tags": [], "list_id": .string(mailchimpList),
                "last_changed": .string(Timestamp.format(Date(timeIntervalSince1970: Double(created))).prefix(19) + "+00:00"),
            ])
            let qbID = String(qbCustomers.count + 1)
            _ = qbCustomers.insert(id: qbID, created: created, updatedMs: created * 1000, fields: [
                "Id": .string(qbID), "DisplayName": .string("\(person.first) \(person.last) \(qbID)"), "GivenName": .string(person.first),
                "FamilyName": .string(person.last), "PrimaryEmailAddr": ["Address": .string(person.email)], "Active": true, "SyncToken": "0",
                "Balance": 0.0,
            ])
        }
        world.random = random
        world.stripe["customers"] = customers
        world.stripe["products"] = products
        world.stripe["prices"] = prices
        world.stripe["payment_intents"] = intents
        world.stripe["charges"] = charges
        world.stripe["invoices"] = invoices
        world.stripe["subscriptions"] = subscriptions
        world.stripe["refunds"] = refunds
        world.stripe["disputes"] = disputes
        world.square["customers"] = squareCustomers
        world.square["payments"] = squarePayments
        world.square["catalog"] = squareCatalog
        world.square["orders"] = squareOrders
        world.square["inventory"] = squareInventory
        world.mailchimp["us6/\(mailchimpList)"] = members
        // A few campaigns to the seeded list; their ids come from their place, not the generator.
        var campaigns = world.mailchimpCampaigns["us6"] ?? RecordCollection()
        for index in 0..<max(2, count / 50) where campaigns.find(String(format: "c%09x", index)) == nil {
            let created = start + Int64(index) * max(1, (365 * 86400) / Int64(max(2, count / 50)))
            let id = String(format: "c%09x", index)
            let time = JSONValue.string(Mailchimp.lastChanged(created * 1000))
            _ = campaigns.insert(id: id, created: created, updatedMs: created * 1000, fields: [
                "id": .string(id), "type": "regular", "status": index % 3 == 2 ? "save" : "sent", "create_time": time,
                "send_time": index % 3 == 2 ? "" : time, "emails_sent": .integer(index % 3 == 2 ? 0 : Int64(count)),
                "recipients": ["list_id": .string(mailchimpList), "list_name": "Junction Sandbox Audience"],
                "settings": ["subject_line": .string("News \(index + 1)"), "title": .string("Campaign \(index + 1)"), "from_name": "Junction Sandbox",
                             "reply_to": "news@example.com"],
            ])
        }
        world.mailchimpCampaigns["us6"] = campaigns
        world.quickbooks["Customer"] = qbCustomers
        world.quickbooks["Item"] = qbItems
        world.quickbooks["Invoice"] = qbInvoices
        world.quickbooks["Payment"] = qbPayments
        world.quickbooks["Account"] = qbAccounts
        world.lastMs = max(world.lastMs, now * 1000)
    }
}
