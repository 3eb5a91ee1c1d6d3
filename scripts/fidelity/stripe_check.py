"""The official `stripe` Python package against junction-sandbox: lists and pages customers,
creates (with an idempotent replay), retrieves and updates one, refunds a charge, follows the
events those changes made, and gets Stripe's 404. Run through scripts/sandbox-fidelity."""
import sys
import time

import stripe

base, expected = sys.argv[1], int(sys.argv[2])
stripe.api_key = "sk_test_junction"
stripe.api_base = base
stripe.max_network_retries = 0
started = int(time.time())

first = stripe.Customer.list(limit=3)
assert first.object == "list" and len(first.data) == 3 and first.has_more, first
ids = [customer.id for customer in stripe.Customer.list(limit=100).auto_paging_iter()]
assert len(ids) == expected and len(set(ids)) == expected, (len(ids), len(set(ids)))
created = stripe.Customer.create(email="fidelity@example.com", name="Zoë Fidelity", metadata={"venue": "42"},
                                 idempotency_key="fidelity-1")
again = stripe.Customer.create(email="fidelity@example.com", name="Zoë Fidelity", metadata={"venue": "42"},
                               idempotency_key="fidelity-1")
assert again.id == created.id, (again.id, created.id)
fetched = stripe.Customer.retrieve(created.id)
assert fetched.email == "fidelity@example.com" and fetched.metadata["venue"] == "42", fetched
updated = stripe.Customer.modify(created.id, metadata={"plan": "pro"})
assert updated.metadata["plan"] == "pro" and updated.metadata["venue"] == "42", updated

charge = next(c for c in stripe.Charge.list(limit=100).auto_paging_iter() if not c.refunded)
refund = stripe.Refund.create(charge=charge.id, amount=100)
assert refund.object == "refund" and refund.amount == 100 and refund.charge == charge.id, refund
assert stripe.Charge.retrieve(charge.id).amount_refunded == 100
refunds = [r.id for r in stripe.Refund.list(limit=100).auto_paging_iter()]
assert refund.id in refunds, refunds[:3]
disputes = list(stripe.Dispute.list(limit=100).auto_paging_iter())
assert disputes and all(d.object == "dispute" for d in disputes), disputes[:1]

events = list(stripe.Event.list(type="customer.*", created={"gte": started - 5}, limit=2).auto_paging_iter())
assert [e.type for e in events] == ["customer.updated", "customer.created"], [e.type for e in events]
assert events[0].data.object.metadata["plan"] == "pro", events[0]
refund_events = [e.type for e in stripe.Event.list(types=["refund.created", "charge.refunded"]).auto_paging_iter()]
assert sorted(refund_events) == ["charge.refunded", "refund.created"], refund_events
try:
    stripe.Customer.retrieve("cus_missing")
    raise AssertionError("a missing customer was found")
except stripe.InvalidRequestError as error:
    assert error.http_status == 404 and error.code == "resource_missing", error
print(f"stripe {stripe.VERSION}: listed {len(ids)} customers in pages of 100; create, idempotent replay, retrieve, "
      f"modify, refund, refunds and disputes lists, events by type (paged) and a 404 all behaved")
