#!/usr/bin/env python3
"""Writes N uniquely signed Stripe `customer.updated` deliveries of about 1 KB as complete HTTP/1.1
requests for bench/ingress (wrk's Lua cannot compute HMAC-SHA256), dealt round-robin into one
file per wrk thread, PREFIX.0 … PREFIX.<THREADS-1>. Each request is written as
`<byte length>\n<request bytes>`, so wrk's per-thread init only slices the file: formatting the
requests in Lua took seconds, during which wrk's first thread was already sending alone.

    stripe-requests.py COUNT SECRET HOST:PORT THREADS PREFIX
"""
import hashlib
import hmac
import os
import sys
import time

count, secret, host, threads, prefix_path = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3], int(sys.argv[4]), sys.argv[5]
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
outs = [open("%s.%d" % (prefix_path, thread), "wb") for thread in range(threads)]
filler = "Loyal customer since 2019; prefers email. " * 4
for i in range(count):
    tag = "%s%016x" % (prefix, i)
    body = template % (tag, now, tag[:14], now - 86400, filler[: 36 + i % 8], i, tag[:8].upper(), i % 500,
                       names[i % len(names)], i, tag, tag)
    signature = hmac.new(secret, ("%d.%s" % (now, body)).encode(), hashlib.sha256).hexdigest()
    data = body.encode()
    request = (
        "POST /webhooks/stripe HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        "Stripe-Signature: t=%d,v1=%s\r\nContent-Length: %d\r\n\r\n" % (host, now, signature, len(data))
    ).encode() + data
    out = outs[i % threads]
    out.write(b"%d\n" % len(request))
    out.write(request)
for out in outs:
    out.close()
