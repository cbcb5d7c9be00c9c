"""Customer card preview: what Gladly shows an agent for one Ordergroove customer.

Search by Ordergroove customer id or email; the card is built from the exact DETAILED JSON the
lookup endpoint would send (shown beside it and downloadable).
"""

import streamlit as st

from app.ordergroove.errors import OrdergrooveError
from dashboard import card, customers, images, md
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

with json_column:
    st.subheader("DETAILED JSON")
    st.download_button("Download JSON", data=result.body(), file_name=f"gladly-detailed-{md.file_part(customer_id)}.json",
                       mime="application/json", icon=":material/download:", key="card_download")
    st.code(card.pretty_json(result.body()), language="json", height=640, wrap_lines=True)
