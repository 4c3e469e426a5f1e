"""The OpenAPI playground (/api/docs/) in a real browser: "Try it out" works with
the server it selects by default, whichever host name the page was opened with."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_try_it_out_answers_from_the_server_the_playground_was_loaded_from(page, live_server, host):
    base = live_server.url.replace("localhost", host)
    page.goto(base + "/api/docs/")
    servers = page.locator(".servers select")
    expect(servers.locator("option").first).to_have_text("/ - Development")
    expect(servers).to_have_value("/")

    health = page.locator(".opblock", has=page.locator("[data-path='/api/v1/health']"))
    health.locator(".opblock-summary").click()
    health.locator(".try-out__btn").click()
    health.locator(".execute").click()

    expect(health.locator(".request-url pre")).to_have_text(base + "/api/v1/health")
    live = health.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text('"isSuccess": true')
