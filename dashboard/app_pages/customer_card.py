"""Customer card preview: what Gladly shows an agent for one Ordergroove customer.

Search by Ordergroove customer id or email; the card is built from the exact DETAILED JSON the
lookup endpoint would send (shown beside it and downloadable).
"""

import streamlit as st

from app.ordergroove.errors import OrdergrooveError
from dashboard import action_forms, card, customers, images, md
from dashboard.resources import get_services

services = get_services()

st.title("Customer card preview")
st.caption("Exactly what Gladly receives for a DETAILED lookup: same fetch, same presenter, same bytes.")

query = st.text_input(
    "Ordergroove customer id or email",
    key="card_query",
    value=st.query_params.get("customer", ""),  # deep link: ?customer=<id or email>
    placeholder="e.g. 7781203344 or dana.reyes@example.com",
    icon=":material/search:",
).strip()
if not query:
    st.info("Type an Ordergroove customer id (`merchant_user_id`) or an email address to preview the card.")
    st.stop()

try:
    matches = customers.find_customers(services, query)
except OrdergrooveError as exc:
    st.error(customers.friendly_error(exc, services.settings), icon=":material/cloud_off:")
    st.stop()

if not matches:
    kind = "email" if customers.looks_like_email(query) else "id"
    st.warning(f"No Ordergroove customer with {kind} {md.code(query)}. Gladly would get `{{\"results\": []}}`.",
               icon=":material/person_off:")
    st.stop()

customer_id = matches[0].merchant_user_id
if len(matches) > 1:
    labels = {c.merchant_user_id: md.text(customers.customer_label(c)) for c in matches}
    customer_id = st.radio(f"{len(matches)} customers share this email — pick one", list(labels),
                           format_func=labels.get, key="card_pick")

status_line, refresh_slot = st.columns([5, 2], vertical_alignment="center")
if refresh_slot.button("Refresh from Ordergroove", icon=":material/refresh:", key="card_refresh",
                       width="stretch"):
    dropped = services.fetcher.invalidate(customer_id)
    st.toast(f"Dropped {dropped} cached entries for {md.code(customer_id)}; reloading from Ordergroove.")

try:
    with st.spinner("Asking Ordergroove…"):
        result = customers.detailed_card(services, customer_id)
except OrdergrooveError as exc:
    st.error(customers.friendly_error(exc, services.settings), icon=":material/cloud_off:")
    st.stop()

if not result.results:
    st.warning(f"Ordergroove no longer knows customer {md.code(customer_id)}; Gladly would get no result.",
               icon=":material/person_off:")
    st.stop()

status_line.caption(f"Customer {md.code(customer_id)} · {card.age_text(result.fetched_at)} · dates in UTC")
if result.stale:
    st.warning("Ordergroove did not answer, so this card was served **stale from the cache**. "
               "Gladly would see the same.", icon=":material/history:")

gladly_result = result.results[0]
person = card.CustomerView.from_result(gladly_result)
subscriptions = card.subscription_views(gladly_result)
transactions = {str(tx.get("subscriptionId", "")): tx for tx in gladly_result.get("transactions") or ()}


def action_form_preview(action) -> None:
    """The form Gladly opens for ``action``, drawn read-only (nothing is submitted from here)."""
    form, problem = action_forms.load_form(services, action)
    with st.container(border=True, key=f"card_form_box_{action.form_url}"):
        if form is None:
            st.warning(md.text(problem), icon=":material/block:")
        else:
            st.markdown(f"**{md.text(form.get('title', action.name))}**  \n"
                        f"Form from {md.code(action.form_url)}, read-only: Gladly renders it for the agent.")
            for n, section in enumerate(action_forms.sections(form)):
                label = md.text(section["label"] + ("" if section["optional"] else " *"))
                key = f"card_form_{action.form_url}_{n}"
                if section["kind"] == "select":
                    st.selectbox(label, section["options"], index=None, disabled=True, key=key,
                                 placeholder=section["placeholder"] or "Choose…", help=section["hint"] or None)
                elif section["kind"] == "text":
                    st.text_input(label, disabled=True, key=key, help=section["hint"] or None)
                elif section["kind"] == "checkbox":
                    st.checkbox(md.text(section["text"] or section["label"]), disabled=True, key=key,
                                help=section["hint"] or None)
                else:
                    st.caption(f"{label}: a {md.code(section['kind'])} field")
            submit, close = st.columns(2)
            submit.button(md.text(form.get("submitButton", "Submit")), disabled=True, type="primary",
                          key=f"card_form_submit_{action.form_url}")
            close.button(md.text(form.get("closeButton", "Close")), disabled=True,
                         key=f"card_form_close_{action.form_url}")
        if st.button("Close the preview", key=f"card_form_done_{action.form_url}", icon=":material/close:"):
            st.session_state.pop("card_form", None)
            st.rerun()


pictures = images.load_images(tuple(sub.image_url for sub in subscriptions if sub.image_url))
card_column, json_column = st.columns([3, 2], gap="large")

with card_column:
    st.subheader(md.text(person.name), anchor=False)
    st.markdown(
        f"**Ordergroove id (externalCustomerId):** {md.code(person.external_customer_id)}  \n"
        f"**Email:** {md.text(', '.join(person.emails) or '—')}  \n"
        f"**Phone:** {md.text(', '.join(person.phones) or '—')}"
    )
    total, active = st.columns(2)
    total.metric("Subscriptions", person.subscription_count if person.subscription_count is not None else "—",
                 border=True)
    active.metric("Active subscriptions", person.active_count if person.active_count is not None else "—",
                  border=True)
    if not subscriptions:
        st.info("This customer has no subscriptions.")
    for sub in subscriptions:
        with st.container(border=True):
            picture, details = st.columns([1, 5], gap="medium")
            if pictures.get(sub.image_url):
                picture.image(pictures[sub.image_url], width="stretch")
            else:
                picture.html(card.placeholder_html(sub.image_url))
            with details:
                st.badge(md.text(sub.status), color=sub.status_color)
                st.markdown(f"**{md.text(sub.product_name)}**  \n"
                            f"SKU {md.code(sub.sku)} · product {md.code(sub.product_id)} · "
                            f"subscription {md.code(sub.subscription_id)}")
                if sub.other_products:
                    st.caption("Also: " + md.text(", ".join(sub.other_products)))
                left, right = st.columns(2)
                facts_left, facts_right = card.split_facts(sub.facts)
                left.markdown(facts_left)
                right.markdown(facts_right)
                declared = action_forms.card_actions(transactions.get(sub.subscription_id, {}))
                if declared:
                    st.caption("Buttons Gladly shows on this subscription (open one to see its form):")
                    for column, action in zip(st.columns(len(declared) + 1), declared):
                        if column.button(md.text(action.name), key=f"card_action_{action.form_url}",
                                         icon=":material/touch_app:"):
                            st.session_state["card_form"] = action.form_url
                    opened = next((a for a in declared if a.form_url == st.session_state.get("card_form")), None)
                    if opened is not None:
                        action_form_preview(opened)

with json_column:
    st.subheader("DETAILED JSON")
    st.download_button("Download JSON", data=result.body(), file_name=f"gladly-detailed-{md.file_part(customer_id)}.json",
                       mime="application/json", icon=":material/download:", key="card_download")
    st.code(card.pretty_json(result.body()), language="json", height=640, wrap_lines=True)
