"""The official `mailchimp-marketing` package against junction-sandbox: lists, pages members,
adds, upserts, updates, tags and archives one, finds members changed since a time, searches tags,
batch-subscribes, creates, updates and deletes a campaign and a list. Run through scripts/sandbox-fidelity."""
import hashlib
import sys
from datetime import datetime, timedelta, timezone

import mailchimp_marketing
from mailchimp_marketing.api_client import ApiClientError

base, expected = sys.argv[1], int(sys.argv[2])
client = mailchimp_marketing.Client()
client.set_config({"api_key": "sandboxkey0000000000000000000000-us6", "server": "us6"})
client.api_client.host = base + "/3.0"
since = (datetime.now(timezone.utc) - timedelta(seconds=2)).replace(microsecond=0).isoformat()

assert client.ping.get()["health_status"] == "Everything's Chimpy!"
lists = client.lists.get_all_lists()["lists"]
list_id = lists[0]["id"]
members, offset = [], 0
while True:
    page = client.lists.get_list_members_info(list_id, count=1000 if expected > 1000 else 100, offset=offset)
    members += page["members"]
    offset += len(page["members"])
    if offset >= page["total_items"]:
        break
assert len(members) == expected and len({m["id"] for m in members}) == expected, len(members)

email = "Zoe.Fidelity@Example.com"
digest = hashlib.md5(email.lower().encode()).hexdigest()
added = client.lists.add_list_member(list_id, {"email_address": email, "status": "subscribed", "merge_fields": {"FNAME": "Zoë"}})
assert added["id"] == digest, added
try:
    client.lists.add_list_member(list_id, {"email_address": email, "status": "subscribed"})
    raise AssertionError("a member was added twice")
except ApiClientError as error:
    assert error.status_code == 400 and "Member Exists" in error.text, error.text
client.lists.set_list_member(list_id, digest, {"email_address": email, "status_if_new": "subscribed", "merge_fields": {"LNAME": "F"}})
patched = client.lists.update_list_member(list_id, digest, {"vip": True})
assert patched["vip"] is True, patched
client.lists.update_list_member_tags(list_id, digest, {"tags": [{"name": "vip", "status": "active"}]})
assert [t["name"] for t in client.lists.tag_search(list_id, name="vi")["tags"]] == ["vip"]
changed = client.lists.get_list_members_info(list_id, since_last_changed=since)
assert [m["id"] for m in changed["members"]] == [digest], changed
client.lists.delete_list_member(list_id, digest)
archived = client.lists.get_list_members_info(list_id, status="archived", since_last_changed=since)
assert [m["id"] for m in archived["members"]] == [digest], archived

batch = client.lists.batch_list_members(list_id, {"members": [
    {"email_address": "batch.one@example.com", "status": "subscribed"}, {"email_address": "not-an-address", "status": "subscribed"},
], "update_existing": True})
assert batch["total_created"] == 1 and batch["error_count"] == 1 and batch["errors"][0]["email_address"] == "not-an-address", batch
again = client.lists.batch_list_members(list_id, {"members": [{"email_address": "batch.one@example.com", "status": "unsubscribed"}], "update_existing": True})
assert again["total_created"] == 0 and again["total_updated"] == 1 and again["updated_members"][0]["status"] == "unsubscribed", again

campaign = client.campaigns.create({"type": "regular", "recipients": {"list_id": list_id}, "settings": {"subject_line": "Hello", "from_name": "V", "reply_to": "v@example.com"}})
updated = client.campaigns.update(campaign["id"], {"settings": {"subject_line": "Hello again"}})
assert updated["settings"]["subject_line"] == "Hello again" and updated["settings"]["from_name"] == "V", updated
assert campaign["id"] in [c["id"] for c in client.campaigns.list(count=1000)["campaigns"]]
client.campaigns.remove(campaign["id"])
assert campaign["id"] not in [c["id"] for c in client.campaigns.list(count=1000)["campaigns"]]
try:
    client.campaigns.remove(campaign["id"])
    raise AssertionError("a campaign was deleted twice")
except ApiClientError as error:
    assert error.status_code == 404, error.text

audience = client.lists.create_list({"name": "Fidelity", "contact": {"company": "V", "address1": "1 Main St", "city": "Town", "state": "CA", "zip": "90000", "country": "US"},
                                     "permission_reminder": "You asked.", "campaign_defaults": {"from_name": "V", "from_email": "v@example.com", "subject": "Hi", "language": "en"},
                                     "email_type_option": False})
renamed = client.lists.update_list(audience["id"], {"name": "Fidelity renamed", "contact": {"company": "V2"}})
assert renamed["name"] == "Fidelity renamed" and renamed["contact"]["company"] == "V2" and renamed["contact"]["city"] == "Town", renamed
client.lists.delete_list(audience["id"])
assert audience["id"] not in [l["id"] for l in client.lists.get_all_lists(count=1000)["lists"]]
print(f"mailchimp-marketing: paged {len(members)} members of {len(lists)} list(s); add, a duplicate add, upsert, update, "
      f"tags, tag search, members changed since a time, archive, batch subscribe, campaigns (create, update, delete) "
      f"and lists (create, update, delete) all behaved")
