#!/usr/bin/env python3
"""Where the ingress's CPU goes: reads `perf script` output of a call-graph recording of
junction-ingress (bench/ingress PROFILE=on makes one) and prints the share of its samples in each
part of a webhook delivery's path.

Each sample is charged to the first part, in the order below, whose marker is one of its stack's
frames (kernel frames included: a write's system call, and the loopback delivery to the client
that the kernel does inside it, count for the code that wrote). The markers are Swift mangled-name
fragments of the functions named; a rename leaves its samples under "other".

    perf script -i perf.data | bench/support/ingress-profile.py
"""
import collections
import re
import sys

# (part, markers): a sample belongs to the first part one of whose markers is on its stack.
PARTS = [
    ("verifying the signature (HMAC-SHA256, header parsing)", ["6verify_7secrets"]),
    ("finding the event id and type in the body", ["6events2in"]),
    ("building the job (envelope, kept headers, base64 body, script arguments)",
     ["11enqueueCall_", "11keptHeaders", "12base64String", "7payload", "17mergeEnqueueCalls"]),
    ("rest of the intake (checks, dedupe key, answer)", ["WebhookIntakeV6accept", "WebhookIntakeV6stored"]),
    ("writing each answer (headers, write + flush system call)", ["WebhookChannelHandlerC5write"]),
    ("Redis: sending calls and reading replies (NIO channel, hiredis reader)",
     ["EventLoopRedisConnection", "RedisReplyHandler", "RedisReplyReader", "EventLoopEnqueuer"]),
    ("the webhook handler's own bookkeeping", ["WebhookChannelHandler"]),
    ("HTTP/1 parsing and the pipeline's handlers (llhttp, guards)",
     ["HTTPDecoder", "RawActivityHandler", "RequestProgressHandler", "ByteToMessageHandler"]),
    ("reading from sockets (system call, buffers)", ["readFromSocket", "NIOPooledRecvBufferAllocator"]),
    ("the event loop: epoll, tasks, timers", ["SelectableEventLoop", "Selector"]),
]


def stacks(lines):
    frames = []
    for line in lines:
        if line.startswith(("\t", " ")):
            parts = line.strip().split(" ", 1)
            if len(parts) == 2:
                frames.append(re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0]))
        elif frames:
            yield frames
            frames = []
    if frames:
        yield frames


def main():
    counts = collections.Counter()
    total = 0
    for frames in stacks(sys.stdin):
        total += 1
        for part, markers in PARTS:
            if any(marker in frame for frame in frames for marker in markers):
                counts[part] += 1
                break
        else:
            counts["other (allocator, runtime, threads outside the loop)"] += 1
    if total == 0:
        sys.exit("ingress-profile: no samples in the input")
    print(f"ingress CPU samples: {total}")
    for part, _ in PARTS + [("other (allocator, runtime, threads outside the loop)", [])]:
        print(f"  {100 * counts[part] / total:5.1f} %  {part}")


if __name__ == "__main__":
    main()
