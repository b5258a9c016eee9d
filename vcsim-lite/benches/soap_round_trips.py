#!/usr/bin/env python3
"""Server CPU per SOAP round trip, shaped like pyVmomi's requests, for several servers at once.

  python3 soap_round_trips.py NAME:http|https:PORT:PID ... [--count 250] [--rounds 40]

Each server gets one keep-alive connection (Python's http.client, as pyVmomi uses: headers and
body sent separately), a Login, then `CurrentTime` calls. The servers take turns, COUNT calls
each per round, so load from elsewhere on the machine falls on all of them alike. Prints each
server's CPU microseconds per round trip (min and median over rounds), read from
/proc/PID/task/*/schedstat (all threads, nanoseconds). --think-us keeps the client busy before
each request, as pyVmomi is, so the server wakes from idle as it does under bench_pyvmomi.py. A server that is not vcsim-lite (the
`sdk_floor` example) answers every request the same way; only its CPU is of interest.
"""
import argparse
import http.client
import os
import ssl
import statistics
import time

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope '
    'xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema">\n<soapenv:Body>%s</soapenv:Body>\n</soapenv:Envelope>')
LOGIN = ENVELOPE % ('<Login xmlns="urn:vim25"><_this versionId="6.5" type="SessionManager">SessionManager'
                    '</_this><userName>user</userName><password>pass</password></Login>')
CURRENT_TIME = ENVELOPE % ('<CurrentTime xmlns="urn:vim25"><_this versionId="6.5" type="ServiceInstance">'
                           'ServiceInstance</_this></CurrentTime>')


def cpu_seconds(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


class Server:
    def __init__(self, spec):
        self.name, proto, port, pid = spec.split(":")
        self.pid = int(pid)
        if proto == "https":
            ctx = ssl._create_unverified_context()
            self.conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
        else:
            self.conn = http.client.HTTPConnection("127.0.0.1", int(port))
        self.headers = {"Cookie": "", "SOAPAction": "urn:vim25/8.0.3.0",
                        "Content-Type": "text/xml; charset=UTF-8",
                        "User-Agent": "pyvmomi 9.1.1.0 Python/3 (soap_round_trips.py)"}
        self.per_round = []
        self.response_bytes = 0

    def post(self, body, think=0.0):
        if think:
            # Busy, like pyVmomi decoding the last answer and encoding the next call.
            end = time.perf_counter() + think
            while time.perf_counter() < end:
                pass
        self.conn.request("POST", "/sdk", body.encode(), self.headers)
        r = self.conn.getresponse()
        cookie = r.getheader("Set-Cookie")
        data = r.read()
        self.response_bytes = len(data)
        return cookie

    def login(self):
        cookie = self.post(LOGIN)
        if cookie:
            self.headers["Cookie"] = cookie.split(";")[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("servers", nargs="+", help="NAME:http|https:PORT:PID")
    ap.add_argument("--count", type=int, default=250)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--think-us", type=float, default=0.0,
                    help="client CPU time before each request (pyVmomi spends about 400 us)")
    a = ap.parse_args()
    servers = [Server(s) for s in a.servers]
    for s in servers:
        s.login()
        for _ in range(200):
            s.post(CURRENT_TIME)
    for _ in range(a.rounds):
        for s in servers:
            c0 = cpu_seconds(s.pid)
            for _ in range(a.count):
                s.post(CURRENT_TIME, a.think_us / 1e6)
            s.per_round.append(1e6 * (cpu_seconds(s.pid) - c0) / a.count)
    for s in servers:
        r = sorted(s.per_round)
        print("%-12s server CPU per round trip: min %5.1f us, median %5.1f us (%d rounds x %d, response %d bytes)"
              % (s.name, r[0], statistics.median(r), a.rounds, a.count, s.response_bytes))


if __name__ == "__main__":
    main()
