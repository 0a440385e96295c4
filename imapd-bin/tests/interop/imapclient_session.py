"""One session of an independent IMAP client (the imapclient package) against imapd.

Run by imapd-bin/tests/interop.rs with the port of a loopback listener whose connections are
served by `imapd -i CONF`, as inetd would. Prints one `key: value` line per result for the
Rust test to check, and `idling: yes` when it is in IDLE, so that the test delivers a message
then. Exits non-zero (with a traceback) on any protocol error.
"""

import sys

import imapclient


def out(key, value):
    print(f"{key}: {value}", flush=True)


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main():
    port = int(sys.argv[1])
    client = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False, timeout=30)
    out("welcome", text(client.welcome))
    out("login", text(client.login("alice", "pw")))
    out("capabilities", " ".join(sorted(text(c) for c in client.capabilities())))

    client.create_folder("Archive")
    out("folders", " ".join(sorted(name for _flags, _delim, name in client.list_folders())))

    selected = client.select_folder("INBOX")
    out("exists", selected[b"EXISTS"])
    out("uidnext", selected[b"UIDNEXT"])
    out("read_write", selected[b"READ-WRITE"])

    uids = client.search(["ALL"])
    out("search", " ".join(str(u) for u in uids))

    first = uids[0]
    data = client.fetch([first], ["BODYSTRUCTURE", "ENVELOPE", "BODY.PEEK[]<0.100>", "FLAGS"])
    item = data[first]
    out("partial", repr(text(item[b"BODY[]<0>"])))
    envelope = item[b"ENVELOPE"]
    out("envelope_subject", text(envelope.subject))
    sender = envelope.from_[0]
    out("envelope_from", f"{text(sender.name)} {text(sender.mailbox)}@{text(sender.host)}")
    out("envelope_message_id", text(envelope.message_id))
    out("bodystructure", repr(item[b"BODYSTRUCTURE"]))
    out("search_subject", " ".join(str(u) for u in client.search(["SUBJECT", "first"])))
    out("search_body", " ".join(str(u) for u in client.search(["BODY", "SECOND."], charset="UTF-8")))
    out("flags_before", " ".join(text(f) for f in item[b"FLAGS"]))

    flags = client.set_flags([first], [imapclient.SEEN])
    out("set_flags", " ".join(sorted(text(f) for f in flags[first])))
    flags = client.add_flags([first], [imapclient.FLAGGED])
    out("add_flags", " ".join(sorted(text(f) for f in flags[first])))

    client.copy([first], "Archive")
    out("after_copy", client.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"])
    client.move([uids[1]], "Archive")
    out("after_move", client.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"])
    out("inbox_after_move", " ".join(str(u) for u in client.search(["ALL"])))

    message = b"From: alice@example.com\r\nSubject: appended\r\n\r\nAppended body.\r\n"
    out("append", text(client.append("INBOX", message, flags=[imapclient.SEEN])))
    client.noop()

    client.idle()
    out("idling", "yes")
    seen = []
    for _ in range(20):
        for response in client.idle_check(timeout=1):
            seen.append(response)
        if any(r[1:2] == (b"EXISTS",) for r in seen):
            break
    client.idle_done()
    exists = [r[0] for r in seen if r[1:2] == (b"EXISTS",)]
    out("idle_exists", " ".join(str(n) for n in exists))

    client.delete_messages([first])
    out("expunge", text(client.expunge()[0]))
    out("inbox_after", " ".join(str(u) for u in client.search(["ALL"])))
    out("archive_status", client.folder_status("Archive", ["MESSAGES"])[b"MESSAGES"])
    out("logout", text(client.logout()))


if __name__ == "__main__":
    main()
