"""The official `squareup` Python package against junction-sandbox: pages customers, creates and
updates one (and meets a version conflict), searches customers by update time, lists payments by
update time and refunds one, upserts, searches and deletes catalog objects, creates a payment
and an order, deletes a customer. Run through
scripts/sandbox-fidelity."""
import sys
from datetime import datetime, timedelta, timezone

import square
from square import Square
from square.core.api_error import ApiError

base, expected = sys.argv[1], int(sys.argv[2])
client = Square(token="sandbox-sq0atb-junction", base_url=base)
since = (datetime.now(timezone.utc) - timedelta(seconds=2)).isoformat()

ids = [customer.id for customer in client.customers.list(limit=100)]
assert len(ids) == expected and len(set(ids)) == expected, (len(ids), len(set(ids)))
created = client.customers.create(idempotency_key="fidelity-1", given_name="Zoë", email_address="zoe@example.com").customer
again = client.customers.create(idempotency_key="fidelity-1", given_name="Zoë", email_address="zoe@example.com").customer
assert again.id == created.id, "a repeated idempotency_key answers the customer the first call made"
try:
    client.customers.create(idempotency_key="fidelity-1", given_name="Other")
    raise AssertionError("an idempotency key was reused for another body")
except ApiError as error:
    assert error.status_code == 400 and "IDEMPOTENCY_KEY_REUSED" in str(error.body), error.body
updated = client.customers.update(customer_id=created.id, note="VIP", version=created.version).customer
assert updated.note == "VIP" and updated.version == created.version + 1, updated
try:
    client.customers.update(customer_id=created.id, note="late", version=created.version)
    raise AssertionError("a stale version was accepted")
except ApiError as error:
    assert error.status_code == 400 and "CONFLICT" in str(error.body), error.body
found = [c.id for c in client.customers.search(query={"filter": {"updated_at": {"start_at": since}}}, limit=100).customers or []]
assert found == [created.id], found

payments = list(client.payments.list(begin_time="2009-01-01T00:00:00Z", sort_order="ASC", limit=100))
assert payments, "the seeded payments are listed"
refund = client.refunds.refund_payment(idempotency_key="fidelity-r1", payment_id=payments[0].id,
                                       amount_money={"amount": 100, "currency": "USD"}).refund
assert refund.payment_id == payments[0].id, refund
# ListPayments only answers payments created in the last year unless begin_time says otherwise.
changed = list(client.payments.list(begin_time="2009-01-01T00:00:00Z", updated_at_begin_time=since, sort_field="UPDATED_AT", sort_order="ASC"))
assert [p.id for p in changed] == [payments[0].id] and changed[0].refunded_money.amount == 100, changed

made = client.catalog.object.upsert(idempotency_key="fidelity-c1", object={"type": "ITEM", "id": "#tote", "item_data": {"name": "Tote"}})
item = made.catalog_object.id
searched = client.catalog.search(begin_time=since, include_deleted_objects=True)
assert item in [o.id for o in searched.objects or []], searched
client.catalog.object.delete(object_id=item)
gone = client.catalog.search(begin_time=since, include_deleted_objects=True)
assert any(o.id == item and o.is_deleted for o in gone.objects or []), gone

paid = client.payments.create(source_id="cnon:card-nonce-ok", idempotency_key="fidelity-p1", amount_money={"amount": 700, "currency": "USD"}, note="fidelity").payment
assert paid.status == "COMPLETED" and paid.amount_money.amount == 700 and paid.note == "fidelity", paid
again = client.payments.create(source_id="cnon:card-nonce-ok", idempotency_key="fidelity-p1", amount_money={"amount": 700, "currency": "USD"}, note="fidelity").payment
assert again.id == paid.id, "a repeated idempotency key made a second payment"
assert client.payments.get(payment_id=paid.id).payment.id == paid.id


location = client.locations.list().locations[0].id
order = client.orders.create(idempotency_key="fidelity-o1", order={"location_id": location, "reference_id": "fidelity",
                             "line_items": [{"name": "Pass", "quantity": "2", "base_price_money": {"amount": 500, "currency": "USD"}}]}).order
assert order.state == "OPEN" and order.version == 1 and order.total_money.amount == 1000, order
opened = client.orders.search(location_ids=[location], query={"filter": {"state_filter": {"states": ["OPEN"]}}}).orders or []
assert order.id in [o.id for o in opened], opened
assert client.orders.get(order_id=order.id).order.reference_id == "fidelity"

client.customers.delete(customer_id=created.id)
try:
    client.customers.get(customer_id=created.id)
    raise AssertionError("a deleted customer was found")
except ApiError as error:
    assert error.status_code == 404, error.body
print(f"squareup {getattr(square, '__version__', '?')}: listed {len(ids)} customers in pages of 100; create, a repeated and a reused idempotency key, update, "
      f"a version conflict, search by update time, payments by update time, a refund, catalog upsert, search and delete, "
      f"a payment created (once for a repeated key), an order created and found open, and a customer deleted all behaved")
