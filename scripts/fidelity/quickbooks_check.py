"""The official `python-quickbooks` package against junction-sandbox: its queries go as
`POST …/query` with `Content-Type: application/text`. Pages customers, counts, filters, creates
and updates one (and meets a stale SyncToken), deletes an invoice and reads the change from CDC.
Run through scripts/sandbox-fidelity."""
import os
import sys
from datetime import datetime, timedelta, timezone

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
from quickbooks import QuickBooks  # noqa: E402
from quickbooks.cdc import change_data_capture  # noqa: E402
from quickbooks.exceptions import QuickbooksException  # noqa: E402
from quickbooks.objects.account import Account  # noqa: E402
from quickbooks.objects.customer import Customer  # noqa: E402
from quickbooks.objects.invoice import Invoice  # noqa: E402
from quickbooks.objects.item import Item  # noqa: E402
from quickbooks.objects.payment import Payment  # noqa: E402

base, expected = sys.argv[1], int(sys.argv[2])
QuickBooks.sandbox_api_url_v3 = base + "/v3"



class Tokens:
    """What python-quickbooks reads of intuitlib's AuthClient, whose constructor fetches Intuit's
    discovery document from the internet (out of reach here, and not what is being judged)."""
    environment = "sandbox"
    client_id = "junction-sandbox-client"
    access_token = "sandbox-qb-access-junction"
    refresh_token = "unused"


auth = Tokens()
qb = QuickBooks(auth_client=auth, refresh_token="unused", company_id="9130355029834636", minorversion=75)
since = datetime.now(timezone.utc) - timedelta(seconds=2)

customers = []
while True:
    page = Customer.all(start_position=len(customers) + 1, max_results=100, qb=qb)
    customers += page
    if len(page) < 100:
        break
assert len(customers) == expected and len({c.Id for c in customers}) == expected, len(customers)
assert Customer.count(qb=qb) == expected
assert Item.all(qb=qb) and Account.all(qb=qb) and Payment.all(qb=qb), "items, accounts and payments are seeded"
target = customers[3]
assert [c.Id for c in Customer.filter(DisplayName=target.DisplayName, qb=qb)] == [target.Id]

new = Customer()
new.DisplayName = "Zoë Fidelity"
created = new.save(qb=qb)
assert created.Id and created.SyncToken == "0", created.to_json()
stale = Customer.get(created.Id, qb=qb)
created.CompanyName = "Junction"
created = created.save(qb=qb)
assert created.SyncToken == "1" and created.CompanyName == "Junction" and created.DisplayName == "Zoë Fidelity", created.to_json()
try:
    stale.CompanyName = "Other"
    stale.save(qb=qb)
    raise AssertionError("a stale SyncToken was accepted")
except QuickbooksException as error:
    assert "5010" in str(error.error_code) or "Stale" in str(error.message), (error.error_code, error.message)

first, second = Customer(), Customer()
first.DisplayName = second.DisplayName = "Requested Once"
made = first.save(qb=qb, request_id="fidelity-request-1")
repeated = second.save(qb=qb, request_id="fidelity-request-1")
assert repeated.Id == made.Id and repeated.SyncToken == made.SyncToken, "a repeated requestid is answered with the first write"
assert [c.Id for c in Customer.filter(DisplayName="Requested Once", qb=qb)] == [made.Id], "and writes nothing more"

invoice = Invoice.all(max_results=1, qb=qb)[0]
invoice.delete(qb=qb)
cdc = change_data_capture([Customer, Invoice], since, qb=qb)
assert created.Id in [c.Id for c in cdc.Customer], "the new customer is in CDC"
assert invoice.Id in [i.Id for i in cdc.Invoice], "the deleted invoice is in CDC"
print(f"python-quickbooks: paged {len(customers)} customers (POST query, application/text), count, filter, items, accounts, "
      f"payments, create, update, a stale SyncToken, a repeated requestid, delete and CDC all behaved")
