"""The bar of approvals, as a property over any sequence of Telegram updates: a request becomes
approved only by a press that carries a valid signature for it, comes from the configured chat
and from a user of ARGUS_APPROVERS, arrives before it expires, and is the first valid answer to
it. Nothing else (forged, replayed, expired, foreign, malformed updates) changes any request."""

from __future__ import annotations

import secrets
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from argus_cli.control import approvals
from argus_cli.state.layout import ApprovalRequest, Approvals

CHAT = "-100424242"
KEY = secrets.token_bytes(32)
OTHER_KEY = secrets.token_bytes(32)
IDS = ["a1b2c3d4", "e5f6a7b8", "0badf00d"]
T0 = 1_800_000_000.0
APPROVERS = frozenset({"7"})  # ARGUS_APPROVERS: the one user of the group who may approve
TTL = 1800


def fresh_store() -> Approvals:
    return Approvals(requests={i: ApprovalRequest(i, "kill_pid", str(100 + n), "memory", "hog", T0, T0 + TTL,
                                                  {"create_time": 1.0})
                               for n, i in enumerate(IDS)})


press = st.fixed_dictionaries({
    "request": st.sampled_from([*IDS, "ffffffff", "a1b2c3d4:a", ""]),
    "verb": st.sampled_from(["a", "d", "s", "x", ""]),
    "signed_for": st.sampled_from(["same", "other-verb", "other-request", "other-key", "other-chat", "garbage"]),
    "chat": st.sampled_from([CHAT, "-100999", "424242", "@argus", None, True]),
    "at": st.floats(min_value=T0 - 10, max_value=T0 + 2 * TTL, allow_nan=False),
    "shape": st.sampled_from(["ok", "ok", "ok", "no-id", "no-data", "data-int", "not-dict", "message-str"]),
    "user": st.sampled_from([7, 7, 666, "7", None]),
})


# half the presses are good ones (so approvals happen), the rest anything at all
good = st.fixed_dictionaries({
    "request": st.sampled_from(IDS), "verb": st.sampled_from(["a", "a", "d", "s"]), "signed_for": st.just("same"),
    "chat": st.just(CHAT), "at": st.floats(min_value=T0, max_value=T0 + 1.2 * TTL, allow_nan=False),
    "shape": st.just("ok"), "user": st.just(7)})
presses = st.lists(st.one_of(good, press), max_size=12)


def signature(p: dict[str, Any]) -> str:
    verb, request = p["verb"], p["request"]
    if p["signed_for"] == "garbage":
        return "A" * 22
    key = OTHER_KEY if p["signed_for"] == "other-key" else KEY
    chat = "-100999" if p["signed_for"] == "other-chat" else CHAT
    verb = "d" if p["signed_for"] == "other-verb" and verb == "a" else "a" if p["signed_for"] == "other-verb" else verb
    request = IDS[(IDS.index(request) + 1) % len(IDS)] if p["signed_for"] == "other-request" and request in IDS \
        else request
    return approvals.callback_data(key, request, verb, chat).rsplit(":", 1)[1]


def update(n: int, p: dict[str, Any]) -> object:
    data: object = f"{p['request']}:{p['verb']}:{signature(p)}"
    chat: object = {"id": int(p["chat"]) if isinstance(p["chat"], str) and p["chat"].lstrip("-").isdigit()
                    else p["chat"], "type": "group"}
    message: object = {"message_id": 1, "chat": chat}
    query: dict[str, object] = {"id": f"cb{n}", "from": {"id": p["user"], "username": "alice"},
                                "message": message, "data": data}
    if p["shape"] == "no-id":
        del query["id"]
    elif p["shape"] == "no-data":
        del query["data"]
    elif p["shape"] == "data-int":
        query["data"] = 12345
    elif p["shape"] == "message-str":
        query["message"] = "hello"
    elif p["shape"] == "not-dict":
        return ["callback_query", query]
    return {"update_id": n, "callback_query": query}


def counts(p: dict[str, Any]) -> bool:
    """Is this press, by the rules of the issue, a valid answer (whatever it answers)?"""
    return (p["shape"] == "ok" and p["request"] in IDS and p["verb"] in ("a", "d", "s")
            and p["signed_for"] == "same" and p["chat"] == CHAT and p["user"] == 7)


@settings(max_examples=400, deadline=None)
@given(presses)
def test_only_a_first_valid_unexpired_press_from_the_chat_approves(presses):
    store = fresh_store()
    for n, p in enumerate(sorted(presses, key=lambda p: p["at"])):  # a cycle reads them as time goes on
        approvals.apply_updates(store, [update(n, p)], KEY, chat=CHAT, now=p["at"], deny_for=3600,
                                approvers=APPROVERS)
    expected: dict[str, str] = dict.fromkeys(IDS, "pending")
    for p in sorted(presses, key=lambda p: p["at"]):
        if counts(p) and expected[p["request"]] == "pending" and p["at"] < T0 + TTL:
            expected[p["request"]] = approvals.VERBS[p["verb"]]
        elif counts(p) and expected[p["request"]] == "approved" and p["verb"] == "d":
            expected[p["request"]] = "denied"  # an approval withdrawn before it ran
    assert {i: store.requests[i].state for i in IDS} == expected
    for i in IDS:
        if store.requests[i].state == "approved":
            assert store.requests[i].by == "@alice (telegram 7)"
    read = [n for n, p in enumerate(sorted(presses, key=lambda p: p["at"])) if p["shape"] != "not-dict"]
    assert store.offset == (max(read) + 1 if read else 0)  # every update is read once, whatever it held
    refused = [p for p in presses if p["shape"] not in ("not-dict", "no-id")]
    accepted = sum(1 for p in presses if counts(p)) - sum(  # valid presses refused all the same: late or repeated
        1 for p in presses if counts(p) and not _took(p, presses))
    assert len(store.refused) == len(refused) - accepted


def _took(p: dict[str, Any], presses: list[dict[str, Any]]) -> bool:
    """Did this valid press change its request, replaying the model up to it?"""
    state = "pending"
    for q in sorted(presses, key=lambda q: q["at"]):
        if not counts(q) or q["request"] != p["request"]:
            continue
        took = (state == "pending" and q["at"] < T0 + TTL) or (state == "approved" and q["verb"] == "d")
        if took:
            state = approvals.VERBS[q["verb"]]
        if q is p:
            return took
    return False


def test_the_property_sees_approvals():
    """The generator makes approvals happen: the property is not vacuously true."""
    seen: list[str] = []

    @settings(max_examples=100, deadline=None)
    @given(presses)
    def run(presses):
        store = fresh_store()
        for n, p in enumerate(sorted(presses, key=lambda p: p["at"])):
            approvals.apply_updates(store, [update(n, p)], KEY, chat=CHAT, now=p["at"], deny_for=3600,
                                approvers=APPROVERS)
        seen.extend(r.state for r in store.requests.values())
    run()
    assert seen.count("approved") >= 20 and seen.count("denied") >= 5
