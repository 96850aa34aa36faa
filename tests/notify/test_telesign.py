"""The Telesign channel against a local server speaking Telesign's Messaging API format."""

from __future__ import annotations

import base64
import uuid

import pytest

from confide.notify.channels import DeliveryFailed, OutgoingMessage
from confide.notify.telesign import TelesignChannel
from tests.notify.servers import TELESIGN_CUSTOMER, TELESIGN_KEY, free_port, telesign_server


def _sms(to: str = "+1 (555) 010-0123") -> OutgoingMessage:
    return OutgoingMessage(
        kind="sms", to=to, subject="", text="Your Confide code: 123456", purpose="mfa_code",
        message_id=uuid.uuid4(),
    )  # fmt: skip


def _channel(base_url: str, *, api_key: str = TELESIGN_KEY) -> TelesignChannel:
    return TelesignChannel(
        base_url=base_url, customer_id=TELESIGN_CUSTOMER, api_key=api_key, timeout_seconds=5
    )


async def test_send_posts_the_documented_form_and_returns_the_reference_id() -> None:
    message = _sms()
    async with telesign_server() as (telesign, base_url):
        sent = await _channel(base_url).send(message)

    assert list(telesign.sent) == [sent.provider_ref]
    form = telesign.sent[sent.provider_ref]
    assert form["phone_number"] == "15550100123"  # digits only, country code first
    assert form["message"] == "Your Confide code: 123456"
    assert form["message_type"] == "ARN"
    assert form["external_id"] == str(message.message_id)
    expected = base64.b64encode(f"{TELESIGN_CUSTOMER}:{TELESIGN_KEY}".encode()).decode()
    assert telesign.auth_headers == [f"Basic {expected}"]


async def test_status_reads_the_delivery_status() -> None:
    async with telesign_server() as (_, base_url):
        channel = _channel(base_url)
        sent = await channel.send(_sms())
        status = await channel.status(sent.provider_ref)

    assert status.reference_id == sent.provider_ref
    assert status.code == 200
    assert status.delivered
    assert not status.failed
    assert status.description == "Delivered to handset"


async def test_status_of_an_unknown_reference_fails() -> None:
    async with telesign_server() as (_, base_url):
        with pytest.raises(DeliveryFailed) as failed:
            await _channel(base_url).status("0" * 32)
    assert not failed.value.retryable
    assert "Reference ID not found" in failed.value.reason


async def test_an_invalid_number_is_a_final_failure() -> None:
    async with telesign_server() as (telesign, base_url):
        telesign.invalid_numbers.add("15550100123")
        with pytest.raises(DeliveryFailed) as failed:
            await _channel(base_url).send(_sms())
    assert not failed.value.retryable
    assert "11000" in failed.value.reason
    assert telesign.sent == {}


async def test_refused_credentials_are_a_final_failure() -> None:
    async with telesign_server() as (_, base_url):
        with pytest.raises(DeliveryFailed) as failed:
            await _channel(base_url, api_key="d3Jvbmc=").send(_sms())
    assert not failed.value.retryable
    assert "401" in failed.value.reason


async def test_an_outage_may_be_retried() -> None:
    async with telesign_server() as (telesign, base_url):
        telesign.outage = 503
        with pytest.raises(DeliveryFailed) as failed:
            await _channel(base_url).send(_sms())
    assert failed.value.retryable


async def test_an_unreachable_server_may_be_retried() -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await _channel(f"http://127.0.0.1:{free_port()}").send(_sms())
    assert failed.value.retryable


async def test_report_maps_telesign_codes_to_outcomes() -> None:
    async with telesign_server() as (telesign, base_url):
        channel = _channel(base_url)
        sent = await channel.send(_sms())
        telesign.statuses = [(290, "Message in progress"), (210, "Temporary phone error"),
                             (200, "Delivered to handset")]  # fmt: skip
        reports = [await channel.report(sent.provider_ref) for _ in range(3)]

    assert sent.pending
    assert [r.outcome for r in reports] == ["pending", "failed", "delivered"]
    assert reports[1].detail == "Telesign 210: Temporary phone error"
    assert telesign.status_queries == [sent.provider_ref] * 3
