"""The official `stripe` Python package against junction-sandbox: lists and pages customers and
creates one. Run through scripts/sandbox-stripe-fidelity, which starts the sandbox."""
import sys

import stripe

base, expected = sys.argv[1], int(sys.argv[2])
stripe.api_key = "sk_test_junction"
stripe.api_base = base
stripe.max_network_retries = 0

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
try:
    stripe.Customer.retrieve("cus_missing")
    raise AssertionError("a missing customer was found")
except stripe.InvalidRequestError as error:
    assert error.http_status == 404 and error.code == "resource_missing", error
print(f"stripe {stripe.VERSION}: listed {len(ids)} customers in pages of 100, created {created.id}, "
      f"idempotent replay, retrieve, modify and a 404 all behaved")
