"""The customer card page, against the sandbox: the reference customer, unknown ids, emails,
refresh, and Ordergroove being unreachable."""

from __future__ import annotations

import json

from app.sandbox import KNOWN

from dash_support import assert_clean, shown


def _card(at, query):
    at.run()
    at.text_input(key="card_query").input(query).run()
    assert_clean(at)
    return at


def _text(at) -> str:
    return shown("\n".join(m.value for m in at.markdown))


def test_reference_customer_card(dashboard_env, app_test):
    at = _card(app_test, KNOWN["reference"])
    assert at.subheader[0].value == "Dana Reyes"
    text = _text(at)
    assert "`7781203344`" in text and "dana.reyes@example.com" in text and "+14155550123 (mobile)" in text
    assert {m.label: m.value for m in at.metric} == {"Subscriptions": "2", "Active subscriptions": "1"}
    # active first, then canceled; badges coloured by status
    badges = [m.value for m in at.markdown if "-badge[" in m.value]
    assert badges == [":green-badge[Active]", ":red-badge[Canceled]"]
    assert "**Cold Brew Concentrate 32 oz**" in text and "SKU `CB-32-ORIG`" in text
    assert "product `40212877221943`" in text and KNOWN["reference_active_subscription"] in text
    assert "**Price:** $24.50" in text and "**Quantity:** 2" in text
    assert "**Billing frequency:** Every 6 weeks" in text
    assert "**Next billing date:** 28 Dec 2026" in text
    assert "**Created:** 2 Mar 2024" in text and "**Updated:** 19 Jan 2025" in text
    assert "**Oat Milk Barista 6-pack**" in text and "**Price:** $18.00" in text
    assert "**Canceled:** 20 Feb 2024" in text and "**Cancellation reason:** Overstocked" in text
    assert any("fetched" in c.value and "s ago" in c.value for c in at.caption)


def test_json_beside_the_card_is_the_exact_detailed_body(dashboard_env, app_test):
    at = _card(app_test, KNOWN["reference"])
    shown = json.loads(at.code[0].value)
    assert at.code[0].language == "json"
    result = shown["results"][0]
    assert result["externalCustomerId"] == KNOWN["reference"]
    assert result["customAttributes"] == {"ordergrooveCustomerId": KNOWN["reference"],
                                          "subscriptionCount": "2", "activeSubscriptionCount": "1"}
    assert [t["status"] for t in result["transactions"]] == ["Active", "Canceled"]
    assert result["transactions"][0]["nextBillingDate"] == "2026-12-28T06:00:00.000Z"


def test_unknown_id_says_so(dashboard_env, app_test):
    at = _card(app_test, KNOWN["unknown"])
    assert "No Ordergroove customer with id" in at.warning[-1].value
    assert KNOWN["unknown"] in at.warning[-1].value
    assert not at.metric and not at.code


def test_email_with_several_customers_offers_a_choice(dashboard_env, app_test):
    at = _card(app_test, KNOWN["shared_email"])
    choice = at.radio(key="card_pick")
    assert len(choice.options) == 2
    assert all("Shared.Household@example.com".lower() in shown(o).lower() for o in choice.options)
    first = json.loads(at.code[0].value)["results"][0]["externalCustomerId"]
    assert first == choice.value
    other = next(cid for cid in KNOWN["shared_email_customers"] if cid != first)
    choice.set_value(other).run()
    assert_clean(at)
    assert json.loads(at.code[0].value)["results"][0]["externalCustomerId"] == other


def test_email_with_one_customer_goes_straight_to_the_card(dashboard_env, app_test):
    at = _card(app_test, "  Dana.Reyes@Example.com ")
    assert not at.radio
    assert at.subheader[0].value == "Dana Reyes"


def test_refresh_invalidates_the_cache_and_refetches(dashboard_env, app_test, sandbox):
    at = _card(app_test, KNOWN["reference"])
    before = sandbox.stats()["requests"]
    at.run()  # a plain rerun is served from the cache
    assert sandbox.stats()["requests"] == before
    at.button(key="card_refresh").click().run()
    assert_clean(at)
    assert sandbox.stats()["requests"] > before
    assert at.subheader[0].value == "Dana Reyes"


def test_unreachable_ordergroove_is_a_friendly_error(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("ORDERGROOVE_BASE_URL", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("OGTK_UPSTREAM_MAX_RETRIES", "0")
    at = _card(app_test, KNOWN["reference"])
    assert len(at.error) == 1
    assert "could not be reached" in at.error[0].value and "sandbox" in at.error[0].value
    assert not at.code


def test_stale_card_says_so_when_ordergroove_fails_after_a_fetch(dashboard_env, monkeypatch, app_test):
    from app.sandbox import SandboxServer

    with SandboxServer() as flaky:
        monkeypatch.setenv("ORDERGROOVE_BASE_URL", flaky.base_url)
        for kind in ("CUSTOMER", "SUBSCRIPTIONS", "ORDERS", "PRODUCT"):
            monkeypatch.setenv(f"OGTK_CACHE_TTL_{kind}_S", "0")  # everything expires at once
        at = _card(app_test, KNOWN["reference"])
        assert not [w for w in at.warning if "stale" in w.value]
        flaky.set_faults(error_rate=1.0)
        at.run()  # expired entries, Ordergroove failing: the card is served stale and says so
        assert_clean(at)
        assert any("stale from the cache" in w.value for w in at.warning)
        assert json.loads(at.code[0].value)["results"][0]["externalCustomerId"] == KNOWN["reference"]
        at.button(key="card_refresh").click().run()  # refreshing drops the cache: nothing to fall back on
        assert_clean(at)
        assert at.error and not at.code


def _markup_tokens(source: str) -> set[str]:
    """Token types CommonMark makes of ``source`` that would fetch, link or embed something."""
    from markdown_it import MarkdownIt

    found: set[str] = set()

    def walk(tokens):
        for token in tokens:
            if token.type in ("image", "link_open", "html_inline", "html_block", "autolink"):
                found.add(token.type)
            walk(token.children or ())

    walk(MarkdownIt("commonmark").parse(source))
    return found


EVIL = "![x](https://evil/pixel)"


def _markdown_sources(at) -> list[str]:
    elements = [*at.markdown, *at.caption, *at.subheader, *at.warning, *at.info, *at.error, *at.success]
    return [e.value for e in elements] + [o for r in at.radio for o in r.options]


def test_ordergroove_text_is_shown_never_rendered_as_markup(dashboard_env, monkeypatch, app_test):
    from app.sandbox import SandboxServer

    # its own seed: generate() caches data sets per argument, and this one is vandalised
    with SandboxServer(seed=8808, customers=40) as evil:
        customer = evil.dataset.customer(KNOWN["reference"])
        customer["first_name"], customer["last_name"] = "**Dana** :red[loud]", "<img src=https://evil/a>"
        for product_id in KNOWN["reference_products"]:
            evil.dataset.product_by_id[product_id]["name"] = EVIL
            evil.dataset.product_by_id[product_id]["sku"] = "`](https://evil/sku)"
        monkeypatch.setenv("ORDERGROOVE_BASE_URL", evil.base_url)
        at = _card(app_test, KNOWN["reference"])
    sources = _markdown_sources(at)
    assert not set().union(*map(_markup_tokens, sources))
    assert not any(":red[" in s or "**Dana**" in s for s in sources)  # no Streamlit directive, no bold
    text = shown("\n".join(sources))
    assert EVIL in text and "**Dana** :red[loud] <img src=https://evil/a>" in text
    assert "`](https://evil/sku)" in text


def test_the_url_value_is_shown_never_rendered_as_markup(dashboard_env, app_test):
    query = "x` ![y](https://evil/q) :material/home: `z"  # closes the code span around it
    at = app_test
    at.query_params["customer"] = query  # /?customer=…: the deep link fills the search box
    at.run()
    assert_clean(at)
    warning = at.warning[-1].value
    assert "No Ordergroove customer with id" in warning
    assert not _markup_tokens(warning) and query in warning  # inside a code span that holds it whole


def test_card_shows_the_action_buttons_and_their_forms_read_only(dashboard_env, monkeypatch, app_test):
    monkeypatch.setenv("OGTK_ACTIONS", "cancel,skip")
    at = _card(app_test, KNOWN["reference"])
    result = json.loads(at.code[0].value)["results"][0]
    declared = result["transactions"][0]["actions"]
    labels = [b.label for b in at.button if b.key and b.key.startswith("card_action_")]
    assert labels == [shown_label for shown_label in (d["name"] for d in declared)] == \
        ["Cancel subscription", "Skip next order"]
    assert "actions" not in result["transactions"][1]  # the canceled one has none

    at.button(key=f"card_action_{declared[0]['formUrl']}").click().run()
    assert_clean(at)
    reasons = next(s for s in at.selectbox if s.key.startswith("card_form_"))
    assert reasons.disabled and "Overstocked" in reasons.options
    details = next(t for t in at.text_input if t.key.startswith("card_form_"))
    assert details.disabled
    assert at.button(key=f"card_form_submit_{declared[0]['formUrl']}").disabled

    at.button(key=f"card_action_{declared[1]['formUrl']}").click().run()
    assert_clean(at)
    confirm = next(c for c in at.checkbox if c.key.startswith("card_form_"))
    assert confirm.disabled and shown(confirm.label).startswith("Skip the order due on Dec 28, 2026")
    at.button(key=f"card_form_done_{declared[1]['formUrl']}").click().run()
    assert not [c for c in at.checkbox if c.key.startswith("card_form_")]


def test_card_without_actions_enabled_has_no_buttons(dashboard_env, app_test):
    at = _card(app_test, KNOWN["reference"])
    assert not [b for b in at.button if b.key and b.key.startswith("card_action_")]
