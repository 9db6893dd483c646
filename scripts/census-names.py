#!/usr/bin/env python3
"""Writes crates/warden-privacy/data/{given,surnames}.txt from the US Census
Bureau's 1990 name frequency files (public domain, a work of the US
government), as shipped in the `names` package on PyPI (MIT):

    python3 -m venv /tmp/v && /tmp/v/bin/pip install names==0.3.0
    /tmp/v/bin/python scripts/census-names.py

Given names: every name in dist.female.first and dist.male.first.
Surnames: the 10,000 most frequent in dist.all.last.
Words that name things in logs (SERVICE, SYSTEM, NETWORK, ...) are left out
so that Title Case product and rule names are not read as people.
"""
import os
import names

NOT_PEOPLE = set("""
ACCESS ACCOUNT ADMIN AGENT ALERT APPLICATION AUDIT BACKUP BATCH BLOCK BOOT BUILD CACHE CALL CERTIFICATE CHANGE
CHECK CHROME CLIENT CLOUD CODE COMMAND CONTROL CORE CREDENTIAL DATA DEBUG DEFAULT DEFENDER DELETE DEVICE DIRECTORY
DISK DOMAIN DRIVER EDGE EVENT EXCHANGE EXPLORER FILE FIREWALL FOLDER GATEWAY GROUP GUARD HASH HOST IMAGE INSTALL
KERNEL KEY LINK LOCAL LOCK LOG LOGIN LOGON MAIL MANAGER MASTER MEMORY MONITOR NETWORK NODE OFFICE ORACLE PACKAGE
PATCH PATH PIPE POLICY PORT POWER PRINT PROCESS PROFILE PROXY QUERY REGISTRY REMOTE REPORT RULE RUN SCAN SCRIPT
SEARCH SECURITY SERVER SERVICE SESSION SHELL SIGN STORE SYSTEM TASK TOKEN TOOL UPDATE USER VAULT VIEW WINDOWS
WORKER ZONE HIGH LOW MEDIUM CRITICAL NEW OLD FAST GOOD BEST STATE STATUS START STOP END OPEN CLOSE WEB WORD
""".split())

here = os.path.dirname(names.__file__)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "warden-privacy", "data")


def read(name, limit=None):
    out = []
    with open(os.path.join(here, name)) as f:
        for line in f:
            w = line.split()[0]
            if w.isalpha() and len(w) >= 2 and w not in NOT_PEOPLE:
                out.append(w.capitalize())
            if limit and len(out) >= limit:
                break
    return out


given = sorted(set(read("dist.female.first") + read("dist.male.first")))
surnames = sorted(set(read("dist.all.last", 10000)))
head = "# US Census Bureau, 1990 name frequency files (public domain); see scripts/census-names.py\n"
for fname, words in (("given.txt", given), ("surnames.txt", surnames)):
    with open(os.path.join(root, fname), "w") as f:
        f.write(head + "\n".join(words) + "\n")
    print(fname, len(words))
