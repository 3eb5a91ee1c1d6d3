#!/usr/bin/env python3
"""Writes N uniquely signed Stripe `customer.updated` deliveries of about 1 KB, one per line as
`<Stripe-Signature>\t<body>`, for bench/ingress (wrk's Lua cannot compute HMAC-SHA256).

    stripe-requests.py COUNT SECRET > requests.tsv
"""
import hashlib
import hmac
import os
import sys
import time

count, secret = int(sys.argv[1]), sys.argv[2].encode()
now = int(time.time())
names = ["Zoë Ångström", "Renée O'Brien", "José Müller", "Li Wei", "Amélie Dubois", "Søren Kierkegaard"]
prefix = os.urandom(4).hex()
template = (
    '{"id":"evt_%s","object":"event","api_version":"2024-06-20","created":%d,'
    '"data":{"object":{"id":"cus_%s","object":"customer","address":{"city":"Lyon","country":"FR",'
    '"line1":"12 rue de la République","line2":null,"postal_code":"69002","state":null},"balance":0,'
    '"created":%d,"currency":"eur","default_source":null,"delinquent":false,"description":"%s",'
    '"discount":null,"email":"customer%d@example.com","invoice_prefix":"%s","invoice_settings":'
    '{"custom_fields":null,"default_payment_method":null,"footer":null,"rendering_options":null},'
    '"livemode":false,"metadata":{"tenant":"venue-%d","plan":"pro"},"name":"%s","phone":"+33 4 78 00 00 00",'
    '"preferred_locales":["fr"],"shipping":null,"tax_exempt":"none","test_clock":null},'
    '"previous_attributes":{"email":"old%d@example.com"}},"livemode":false,"pending_webhooks":1,'
    '"request":{"id":"req_%s","idempotency_key":"%s"},"type":"customer.updated"}'
)
out = sys.stdout
filler = "Loyal customer since 2019; prefers email. " * 4
for i in range(count):
    tag = "%s%016x" % (prefix, i)
    body = template % (tag, now, tag[:14], now - 86400, filler[: 36 + i % 8], i, tag[:8].upper(), i % 500,
                       names[i % len(names)], i, tag, tag)
    signature = hmac.new(secret, ("%d.%s" % (now, body)).encode(), hashlib.sha256).hexdigest()
    out.write("t=%d,v1=%s\t%s\n" % (now, signature, body))
