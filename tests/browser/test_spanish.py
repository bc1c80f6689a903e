"""A visit in Spanish, in Chromium: a client link opened with ``?lang=es`` walks the welcome, the
waiting room (a message and a running-late notice with its time as Spanish clocks show it), the
call and its end, all in Spanish, with ``<html lang="es">``, no English word of the catalogue
on screen, and axe clean at each step. Then the other ways in: a Spanish browser, the link's
own ``lang`` claim, and the welcome's switch (remembered for the tab, keeping what was typed).
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from .conftest import OpenPage, Screens, Service
from .helpers import admit, frames_decoded, open_console, waiting_pid
from .test_screens import readme_shows

pytestmark = pytest.mark.browser

#: The English catalogue's words (strings and list items) whose Spanish differs, read from the
#: page's own modules.
ENGLISH_ONLY_JS = """async () => {
  const { CATALOGUES } = await import("/static/js/strings.js");
  const out = [];
  const walk = (en, es) => {
    if (typeof en === "string") { if (en !== es) out.push(en); return; }
    if (Array.isArray(en)) { en.forEach((v, i) => walk(v, es && es[i])); return; }
    if (en && typeof en === "object") for (const k of Object.keys(en)) walk(en[k], es && es[k]);
  };
  walk(CATALOGUES.en, CATALOGUES.es);
  return out;
}"""

VISIBLE_TEXT_JS = "document.title + '\\n' + document.body.innerText"


def spanish(link: str) -> str:
    """The client link with ``?lang=es`` before its fragment."""
    return link.replace("/join#", "/join?lang=es#", 1)


def welcome_heading(page: Page) -> Locator:
    return page.get_by_test_id("welcome").locator("h1")


async def no_english(page: Page) -> None:
    """No English string of the catalogue (one whose Spanish differs) is on screen."""
    english: list[str] = await page.evaluate(ENGLISH_ONLY_JS)
    assert len(english) > 300, len(english)
    text: str = await page.evaluate(VISIBLE_TEXT_JS)
    found = [
        words
        for words in english
        if re.search(rf"(?<!\w){re.escape(words)}(?!\w)", text)
    ]
    assert not found, (found, text)


@pytest.mark.timeout(300)
async def test_a_visit_in_spanish(service: Service, open_page: OpenPage, screens: Screens) -> None:
    therapist = await open_page(service.console_link(), label="therapist")
    await open_console(therapist)

    # 1. The welcome, one step at a time, in Spanish.
    client = await open_page(spanish(service.client_link()), label="client")
    await expect(client.locator("html")).to_have_attribute("lang", "es")
    await expect(client.get_by_test_id("welcome")).to_be_visible()
    await expect(welcome_heading(client)).to_have_text("Le damos la bienvenida")
    switch = client.get_by_label("Idioma")
    await expect(switch).to_have_value("es")
    await expect(switch.locator('option[value="en"]')).to_have_attribute("lang", "en")
    await expect(client.get_by_test_id("step-name")).to_contain_text("Sobre usted")
    await expect(client).to_have_title("Su sesión — Rapport")
    await no_english(client)
    await screens.capture(client, "client-es-welcome")

    await client.get_by_test_id("name").fill("Lucía")
    await client.get_by_test_id("step-next").click()
    if await client.get_by_test_id("step-where").is_visible():
        await expect(client.get_by_test_id("step-where")).to_contain_text("Dónde está hoy")
        await client.get_by_test_id("location").fill("En casa, Calle Mayor 12, Valencia")
        await client.get_by_test_id("step-next").click()
    await expect(client.get_by_test_id("consent-text")).to_have_text(
        "Acepto participar en esta sesión de vídeo. Entiendo que es privada y que no se graba."
    )
    await client.get_by_test_id("step-next").click()  # without ticking: told why, in Spanish
    await expect(client.locator("#consent-error")).to_have_text(
        "Marque la casilla para dar su conformidad antes de entrar."
    )
    await client.get_by_test_id("consent").check()
    await client.get_by_test_id("step-next").click()
    await client.get_by_test_id("device-check").click()
    await expect(client.get_by_test_id("device-status")).to_have_text(
        "Su cámara y su micrófono funcionan."
    )
    await no_english(client)
    await screens.capture(client, "client-es-welcome-devices")

    # 2. The waiting room: a message, and the therapist running late, with a Spanish clock.
    await client.get_by_test_id("join").click()
    await expect(client.get_by_test_id("waiting")).to_be_visible(timeout=30_000)
    await expect(client).to_have_title("Sala de espera — Rapport")
    await expect(client.get_by_test_id("therapist-status")).to_have_text(
        "Su terapeuta está aquí y le atenderá en breve."
    )
    pid = await waiting_pid(therapist, "Lucía")
    await therapist.get_by_test_id("message-all-input").fill("Enseguida estoy con usted")
    await therapist.get_by_test_id("message-all").click()
    await expect(client.get_by_test_id("messages")).to_contain_text("Enseguida estoy con usted")
    await therapist.get_by_test_id("late-10").click()
    # Spanish clocks run to 24 hours ("14:05"), with no a.m. / p.m.
    await expect(client.get_by_test_id("late-notice")).to_have_text(
        re.compile(r"^Su terapeuta se retrasará unos 10 minutos \(hora prevista: \d{1,2}:\d\d\)\.$")
    )
    await expect(client.get_by_test_id("late-countdown")).to_have_text(
        re.compile(r"^Quedan unos (9|10) min \d\d s\.$")
    )
    await no_english(client)
    await screens.capture(client, "client-es-waiting")

    # 3. Admitted, in the call; a chat line from the therapist with its time.
    await admit(therapist, client, "Lucía")
    await expect(client).to_have_title(re.compile("^(Ya puede pasar|En sesión) — Rapport$"))
    assert await frames_decoded(client) > 0
    await expect(client.get_by_test_id("mic")).to_have_accessible_name(
        re.compile("micrófono", re.IGNORECASE)
    )
    await therapist.get_by_test_id("chat-input").fill("Hola, Lucía")
    await therapist.get_by_test_id("chat-send").click()
    await expect(client.get_by_test_id("chat-log")).to_contain_text("Hola, Lucía")
    # A therapist who gave no name is "Su terapeuta", on the tile and in the chat.
    await expect(client.get_by_test_id("remote-tile")).to_contain_text("Su terapeuta")
    await expect(client.get_by_test_id("chat-log")).to_contain_text("Su terapeuta")
    await expect(therapist.get_by_test_id(f"session-{pid}")).to_be_visible()
    await no_english(client)
    await screens.capture(client, "client-es-call")

    # 4. The end.
    await therapist.get_by_test_id("end-session").click()
    await therapist.get_by_test_id("confirm-yes").click()
    await expect(client.get_by_test_id("closing")).to_contain_text("Su sesión ha terminado")
    await expect(client).to_have_title("Sesión terminada — Rapport")
    await no_english(client)
    await screens.capture(client, "client-es-closing")
    screens.check()
    readme_shows(screens)


async def test_the_browsers_language_the_links_claim_and_the_switch(
    service: Service, open_page: OpenPage, screens: Screens
) -> None:
    # A Spanish browser, a plain link: Spanish, with the browser's own locale for the clocks.
    client = await open_page(service.client_link(), label="es-ES", locale="es-ES")
    await expect(client.locator("html")).to_have_attribute("lang", "es")
    await expect(welcome_heading(client)).to_have_text("Le damos la bienvenida")
    assert await client.evaluate(
        "import('/static/js/language.js').then((m) => m.intlLocale())"
    ) == "es-ES"
    await no_english(client)
    await screens.audit(client, "client-es-welcome (es-ES browser)")

    # The switch: English now, keeping the name typed, focus back on the switch.
    await client.get_by_test_id("name").fill("Lucía")
    await client.get_by_label("Idioma").select_option("en")
    await expect(client.locator("html")).to_have_attribute("lang", "en")
    await expect(welcome_heading(client)).to_have_text("Welcome")
    await expect(client.get_by_test_id("name")).to_have_value("Lucía")
    await expect(client.get_by_label("Language")).to_be_focused()
    assert "lang=en" in client.url and "#" not in client.url
    await screens.audit(client, "client-welcome after switching to English")
    # Remembered for the tab: a refresh stays in English, whatever the browser prefers.
    await client.reload()
    await expect(welcome_heading(client)).to_have_text("Welcome")
    await client.get_by_label("Language").select_option("es")
    await expect(welcome_heading(client)).to_have_text("Le damos la bienvenida")

    # The link's lang claim, in an English browser; an explicit ?lang= in the address wins.
    claimed = await open_page(service.client_link(lang="es"), label="claim")
    await expect(claimed.locator("html")).to_have_attribute("lang", "es")
    await expect(welcome_heading(claimed)).to_have_text("Le damos la bienvenida")
    overridden = await open_page(
        service.client_link(lang="es").replace("/join#", "/join?lang=en#"), label="override"
    )
    await expect(welcome_heading(overridden)).to_have_text("Welcome")

    # A link that does not work says so in Spanish too.
    broken = await open_page(f"{service.url}/join?lang=es#not-a-token", label="broken")
    await expect(broken.get_by_test_id("error-page")).to_contain_text("Este enlace no funciona")
    await no_english(broken)
    await screens.audit(broken, "client-es-error-invalid")
    screens.check()
