import Foundation

/// Realistic deliveries signed exactly as each provider signs them: how ops test an endpoint
/// (`junction webhook send`) and how the tests exercise every provider end to end. The signing
/// side is written from the providers' documentation, separately from the verifiers, which the
/// published test vectors pin down.
public enum WebhookSamples {
    /// A signed delivery of a sample event for `provider` to `url`, with a fresh event id.
    /// For Mailchimp, `secret` is the endpoint's URL token and must be the URL's last segment.
    public static func delivery(provider: String, url: String, secret: String, eventType: String? = nil, now: Date = Date()) -> WebhookDelivery? {
        let id = Queue.newID().replacingOccurrences(of: "-", with: "")
        let seconds = Int64(now.timeIntervalSince1970)
        switch provider {
        case "stripe":
            let type = eventType ?? "customer.updated"
            let body = #"{"id":"evt_\#(id.prefix(24))","object":"event","api_version":"2024-06-20","created":\#(seconds),"type":"\#(type)","livemode":false,"pending_webhooks":1,"data":{"object":{"id":"cus_\#(id.suffix(14))","object":"customer","email":"zoe@example.com","name":"Zoë Martín","metadata":{"venue":"42"}}}}"#
            let signature = Signatures.hexString(Signatures.hmacSHA256(secret, Array("\(seconds).\(body)".utf8)))
            return json(url, body, ["Stripe-Signature": "t=\(seconds),v1=\(signature)"])
        case "square":
            let body = #"{"merchant_id":"ML8M1AQ1GQG2K","type":"\#(eventType ?? "customer.updated")","event_id":"\#(Queue.newID())","created_at":"\#(Timestamp.format(now))","data":{"type":"customer","id":"JDKYHBWT1D4F8MFH63DBMEN8Y4"}}"#
            let signature = Data(Signatures.hmacSHA256(secret, Array((url + body).utf8))).base64EncodedString()
            return json(url, body, ["x-square-hmacsha256-signature": signature])
        case "mailchimp":
            let body = "type=\(eventType ?? "subscribe")&fired_at=\(Timestamp.format(now).prefix(19).replacingOccurrences(of: "T", with: "+"))&data%5Bid%5D=\(id.prefix(10))&data%5Blist_id%5D=a6b5da1054&data%5Bemail%5D=zoe%40example.com"
            return WebhookDelivery(url: url, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Array(body.utf8))
        case "mandrill":
            let events = #"[{"event":"\#(eventType ?? "send")","_id":"\#(id)","ts":\#(seconds),"msg":{"email":"zoe@example.com","subject":"Your receipt"}}]"#
            let body = "mandrill_events=" + (events.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            let signature = Data(Signatures.hmacSHA1(secret, Array((url + "mandrill_events" + events).utf8))).base64EncodedString()
            return WebhookDelivery(url: url, headers: ["Content-Type": "application/x-www-form-urlencoded", "X-Mandrill-Signature": signature], body: Array(body.utf8))
        case "quickbooks":
            let body = #"[{"specversion":"1.0","id":"\#(Queue.newID())","source":"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=","type":"\#(eventType ?? "qbo.customer.updated.v1")","datacontenttype":"application/json","time":"\#(Timestamp.format(now))","intuitentityid":"\#(seconds % 10_000)","intuitaccountid":"9130355029834636","data":{}}]"#
            let signature = Data(Signatures.hmacSHA256(secret, Array(body.utf8))).base64EncodedString()
            return json(url, body, ["intuit-signature": signature], contentType: "application/cloudevents-batch+json")
        case "shopify":
            let body = #"{"id":\#(seconds * 1000 + Int64(id.prefix(3).utf8.reduce(0) { $0 + Int($1) })),"email":"zoe@example.com","first_name":"Zoë","last_name":"Martín","updated_at":"\#(Timestamp.format(now))"}"#
            let signature = Data(Signatures.hmacSHA256(secret, Array(body.utf8))).base64EncodedString()
            return json(url, body, ["X-Shopify-Hmac-Sha256": signature, "X-Shopify-Webhook-Id": Queue.newID(), "X-Shopify-Topic": eventType ?? "customers/update", "X-Shopify-Shop-Domain": "junction-demo.myshopify.com"])
        case "hubspot":
            let milliseconds = String(seconds * 1000)
            let body = #"[{"eventId":\#(seconds * 1000 + 1),"subscriptionId":\#(Int64(id.prefix(6), radix: 16) ?? 1),"portalId":62515,"occurredAt":\#(milliseconds),"subscriptionType":"\#(eventType ?? "contact.propertyChange")","attemptNumber":0,"objectId":123,"propertyName":"email","propertyValue":"zoe@example.com"}]"#
            let signature = Data(Signatures.hmacSHA256(secret, Array(("POST" + url + body + milliseconds).utf8))).base64EncodedString()
            return json(url, body, ["X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": milliseconds])
        case "twilio":
            let fields = [("AccountSid", "AC0123456789abcdef0123456789abcdef"), ("From", "+14158675309"), ("MessageSid", "SM\(id.prefix(32))"),
                          ("MessageStatus", eventType ?? "delivered"), ("To", "+18005551212")]
            let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }.joined(separator: "&")
            let signed = url + fields.sorted { $0.0 < $1.0 }.map { $0.0 + $0.1 }.joined()
            let signature = Data(Signatures.hmacSHA1(secret, Array(signed.utf8))).base64EncodedString()
            return WebhookDelivery(url: url, headers: ["Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature], body: Array(body.utf8))
        case "github":
            let body = #"{"action":"opened","issue":{"number":\#(seconds % 1000),"title":"Sync fails for venue 42"},"repository":{"full_name":"junction/demo"}}"#
            let signature = Signatures.hexString(Signatures.hmacSHA256(secret, Array(body.utf8)))
            return json(url, body, ["X-Hub-Signature-256": "sha256=\(signature)", "X-GitHub-Delivery": Queue.newID(), "X-GitHub-Event": eventType ?? "issues"])
        case "slack":
            let body = #"{"token":"deprecated","team_id":"T1DC2JH3J","api_app_id":"A2H9RFS1A","event":{"type":"\#(eventType ?? "app_mention")","user":"U2147483697","text":"<@U0LAN0Z89> sync now","ts":"\#(seconds).000200","channel":"C2147483705"},"type":"event_callback","event_id":"Ev\#(id.prefix(10).uppercased())","event_time":\#(seconds)}"#
            let signature = Signatures.hexString(Signatures.hmacSHA256(secret, Array("v0:\(seconds):\(body)".utf8)))
            return json(url, body, ["X-Slack-Signature": "v0=\(signature)", "X-Slack-Request-Timestamp": String(seconds)])
        default:
            return nil
        }
    }

    private static func json(_ url: String, _ body: String, _ headers: [String: String], contentType: String = "application/json") -> WebhookDelivery {
        WebhookDelivery(url: url, headers: headers.merging(["Content-Type": contentType]) { own, _ in own }, body: Array(body.utf8))
    }
}
