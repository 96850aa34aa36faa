"""SMS through Telesign's REST API (Messaging): `POST /v1/messaging` to send, `GET
/v1/messaging/{reference_id}` for the delivery status, HTTP Basic with the customer id and API
key, form-encoded requests and JSON answers as Telesign documents them
(developer.telesign.com, "SMS API": the reference_id and `status.code` of each answer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from confide.notify.channels import DeliveryFailed, DeliveryReport, OutgoingMessage, Sent

# Telesign's transaction status codes (its "Status codes" table).
DELIVERED = 200
IN_PROGRESS = frozenset({290, 203})  # sent to the gateway; delivery not yet known
# Final failures: an error delivering to the handset, a permanent phone error, unroutable,
# expired, SMS not supported, blocked, invalid content...
FAILED = frozenset({207, 210, 211, 220, 221, 222, 229, 230, 231, 233, 237, 238, 502, 503})
# Message types: ARN is "alerts, reminders and notifications" (OTP would be for codes Telesign
# generates itself; ours are generated here).
MESSAGE_TYPE = "ARN"


@dataclass(frozen=True, slots=True)
class SmsStatus:
    """A message's delivery status as Telesign reports it."""

    reference_id: str
    code: int
    description: str
    updated_on: str | None

    @property
    def delivered(self) -> bool:
        return self.code == DELIVERED

    @property
    def failed(self) -> bool:
        return self.code in FAILED


class TelesignChannel:
    """Sends SMS through Telesign; `status` asks how one fared."""

    def __init__(
        self,
        *,
        base_url: str,
        customer_id: str,
        api_key: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = httpx.BasicAuth(customer_id, api_key)
        self.timeout_seconds = timeout_seconds

    @property
    def name(self) -> str:
        return "telesign"

    def _client(self) -> httpx.AsyncClient:
        # A client per call: an SMS is rare, and nothing is left to close at shutdown.
        return httpx.AsyncClient(
            base_url=self.base_url, auth=self.auth, timeout=self.timeout_seconds
        )

    async def send(self, message: OutgoingMessage) -> Sent:
        """Send the SMS; the provider reference is Telesign's reference_id."""
        try:
            async with self._client() as client:
                response = await client.post(
                    "/v1/messaging",
                    data={
                        "phone_number": phone_digits(message.to),
                        "message": message.text,
                        "message_type": MESSAGE_TYPE,
                        "external_id": str(message.message_id),
                    },
                )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300], retryable=True) from None
        body = _json(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryFailed(_describe(response, body), retryable=True)
        if response.status_code >= 400:
            # A bad number, a bad request, refused credentials: trying again changes nothing
            # (an SMS with a fallback email goes out as email instead).
            raise DeliveryFailed(_describe(response, body), retryable=False)
        reference_id = body.get("reference_id")
        if not isinstance(reference_id, str) or not reference_id:
            raise DeliveryFailed("Telesign answered without a reference_id", retryable=True)
        status = _status(reference_id, body)
        if status.failed:
            raise DeliveryFailed(
                f"Telesign status {status.code}: {status.description}", retryable=False
            )
        return Sent(provider_ref=reference_id, pending=not status.delivered)

    async def status(self, reference_id: str) -> SmsStatus:
        """The delivery status of a message sent earlier (Telesign keeps it 12 hours)."""
        try:
            async with self._client() as client:
                response = await client.get(f"/v1/messaging/{reference_id}")
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300], retryable=True) from None
        body = _json(response)
        if response.status_code >= 400:
            raise DeliveryFailed(
                _describe(response, body),
                retryable=response.status_code == 429 or response.status_code >= 500,
            )
        return _status(reference_id, body)

    async def report(self, provider_ref: str) -> DeliveryReport:
        """The status as a delivery outcome: delivered (200), failed (a final code), or
        pending (in progress, or a code this module does not know)."""
        status = await self.status(provider_ref)
        detail = f"Telesign {status.code}: {status.description}"[:300]
        if status.delivered:
            return DeliveryReport(outcome="delivered", detail=detail)
        if status.failed:
            return DeliveryReport(outcome="failed", detail=detail)
        return DeliveryReport(outcome="pending", detail=detail)


def phone_digits(number: str) -> str:
    """The number as Telesign takes it: country code and digits, no `+`, spaces or dashes."""
    return "".join(ch for ch in number if ch.isdigit())


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _status(reference_id: str, body: dict[str, Any]) -> SmsStatus:
    status = body.get("status") if isinstance(body.get("status"), dict) else {}
    assert isinstance(status, dict)
    code = status.get("code")
    return SmsStatus(
        reference_id=reference_id,
        code=code if isinstance(code, int) else 0,
        description=str(status.get("description", "")),
        updated_on=status.get("updated_on"),
    )


def _describe(response: httpx.Response, body: dict[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return (
            f"Telesign {response.status_code}: {first.get('code')} {first.get('description', '')}"[
                :300
            ]
        )
    return f"Telesign answered HTTP {response.status_code}"
