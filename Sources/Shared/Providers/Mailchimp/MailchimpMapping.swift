import JunctionMapping

/// Mailchimp's objects as its Marketing API reference documents them, and the default mapped
/// record of each synced resource. Times are ISO 8601 with an offset; a campaign not sent yet has
/// an empty `send_time`.
extension MappingCatalog {
    static let mailchimp: [ResourceMappingDefaults] = [
        ResourceMappingDefaults("mailchimp", "lists", fields: [
            "id": .string, "web_id": .integer, "name": .string, "permission_reminder": .string, "date_created": .isoTime,
            "list_rating": .integer, "email_type_option": .boolean, "subscribe_url_short": .string, "visibility": .string,
            "campaign_defaults": .object, "campaign_defaults.from_name": .string, "campaign_defaults.from_email": .string,
            "campaign_defaults.subject": .string, "campaign_defaults.language": .string,
            "stats": .object, "stats.member_count": .integer, "stats.unsubscribe_count": .integer, "stats.cleaned_count": .integer,
            "stats.open_rate": .number, "stats.click_rate": .number, "stats.last_sub_date": .isoTime,
        ] + address("contact", ["company", "address1", "address2", "city", "state", "zip", "country", "phone"]), defaults: [
            MappingRule("name", "name", .trim), MappingRule("company", "contact.company", .trim),
            MappingRule("from_email", "campaign_defaults.from_email", .trim, .lower), MappingRule("member_count", "stats.member_count"),
            MappingRule("created_at", "date_created", utcTime),
        ]),
        ResourceMappingDefaults("mailchimp", "members", fields: [
            "id": .string, "email_address": .string, "unique_email_id": .string, "contact_id": .string, "full_name": .string,
            "web_id": .integer, "email_type": .string, "status": .string, "list_id": .string, "language": .string, "vip": .boolean,
            "member_rating": .integer, "last_changed": .isoTime, "timestamp_signup": .isoTime, "timestamp_opt": .isoTime,
            "ip_signup": .string, "source": .string, "email_client": .string, "tags_count": .integer,
            "merge_fields": .object, "merge_fields.FNAME": .string, "merge_fields.LNAME": .string, "merge_fields.PHONE": .string,
            "merge_fields.BIRTHDAY": .string, "merge_fields.ADDRESS": .any, "interests": .object,
            "stats": .object, "stats.avg_open_rate": .number, "stats.avg_click_rate": .number,
            "location": .object, "location.latitude": .number, "location.longitude": .number, "location.country_code": .string,
            "location.timezone": .string, "tags": .array(.object), "tags[*].id": .integer, "tags[*].name": .string,
        ], defaults: [
            MappingRule("email", "email_address", .trim, .lower),
            MappingRule(target: "name", sources: [try! FieldPath(parsing: "merge_fields.FNAME"), try! FieldPath(parsing: "merge_fields.LNAME")],
                        transforms: [.concat(separator: " ")]),
            MappingRule("first_name", "merge_fields.FNAME", .trim), MappingRule("last_name", "merge_fields.LNAME", .trim),
            MappingRule("phone", "merge_fields.PHONE", .phone(region: "US")), MappingRule("status", "status"),
            MappingRule("list_id", "list_id"), MappingRule("tags", "tags[*].name"), MappingRule("updated_at", "last_changed", utcTime),
        ]),
        ResourceMappingDefaults("mailchimp", "tags", fields: ["id": .integer, "name": .string], defaults: [
            MappingRule("name", "name", .trim),
        ]),
        ResourceMappingDefaults("mailchimp", "campaigns", fields: [
            "id": .string, "web_id": .integer, "type": .string, "create_time": .isoTime, "send_time": .isoTime, "status": .string,
            "emails_sent": .integer, "content_type": .string, "archive_url": .string, "long_archive_url": .string,
            "recipients": .object, "recipients.list_id": .string, "recipients.list_name": .string, "recipients.recipient_count": .integer,
            "settings": .object, "settings.subject_line": .string, "settings.title": .string, "settings.from_name": .string,
            "settings.reply_to": .string, "settings.preview_text": .string,
            "report_summary": .object, "report_summary.opens": .integer, "report_summary.unique_opens": .integer,
            "report_summary.open_rate": .number, "report_summary.clicks": .integer, "report_summary.click_rate": .number,
        ], defaults: [
            MappingRule("title", "settings.title", .trim), MappingRule("subject", "settings.subject_line", .trim),
            MappingRule("status", "status"), MappingRule("list_id", "recipients.list_id"), MappingRule("emails_sent", "emails_sent"),
            // Not sent yet: `send_time` is "", which the default turns into null before it is read as a time.
            MappingRule("sent_at", "send_time", .defaultValue(.null), utcTime), MappingRule("created_at", "create_time", utcTime),
        ]),
    ]
}
