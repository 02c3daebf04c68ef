#!/usr/bin/env python3
"""Writes N realistic CRM contact records as NDJSON (default 1,000,000) to stdout.

    python3 benches/gen_contacts.py 1000000 > /tmp/contacts.ndjson
"""
import json, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rnd = random.Random(42)
first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus", "Zoë", "José"]
last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds", "Ørsted", "Núñez"]
stages = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote",
          "Negotiation/Review", "Closed Won", "Closed Lost"]
cities = ["London", "Paris", "New York", "São Paulo", "Tokyo", "Berlin", "Zürich"]
titles = ["CTO", "VP Engineering", "Head of Data", "Analyst", "Directrice générale", None]
out = sys.stdout
for i in range(n):
    f, l = rnd.choice(first), rnd.choice(last)
    rec = {
        "Id": f"0035e{i:012d}",
        "IsDeleted": rnd.random() < 0.02,
        "FirstName": f,
        "LastName": l,
        "Email": f"  {f}.{l}{i}@Example.COM ",
        "Phone": f"+1 555 {rnd.randint(100, 999)} {rnd.randint(1000, 9999)}",
        "Title": rnd.choice(titles),
        "Stage": rnd.choice(stages),
        "AnnualRevenue": f"{rnd.randint(0, 50_000_000)}.{rnd.randint(0, 999):03d}",
        "CreatedDate": f"20{rnd.randint(15, 24)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:15:00.000+0000",
        "LastModifiedDate": "2024-06-01T10:00:00.000+0000",
        "MailingAddress": {"street": f"{rnd.randint(1, 999)} Main St", "city": rnd.choice(cities),
                           "postalCode": f"{rnd.randint(10000, 99999)}", "country": "US"},
        "AccountId": f"0015e{rnd.randint(0, 99999):09d}",
        "OwnerId": "0055e000001AbCd",
        "LeadSource": rnd.choice(["Web", "Partner", "Event", None]),
        "HasOptedOutOfEmail": rnd.random() < 0.1,
        "Description": "Met at the conference; interested in the enterprise plan and SSO.",
    }
    out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
