"""Diagnostics of Plex Link, with every secret, name and address redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .coordinator import PlexLinkConfigEntry
from .webhooks import CONF_CLOUDHOOK_URL

TO_REDACT = {
    CONF_TOKEN,
    CONF_WEBHOOK_ID,
    CONF_CLOUDHOOK_URL,
    "access_token",
    "uri",
    "username",
    "title",
    "name",
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: PlexLinkConfigEntry
) -> dict[str, Any]:
    """Return the entry, the account, its servers and how their activity is followed, redacted.

    Activity is given as counts: who watches what stays out. Libraries are
    given by type and count, with their titles; their items stay out.
    """
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "webhook": {
                "receiving": runtime.webhook.receiving,
                "listening": runtime.webhook.listening,
                "registered": runtime.webhook.registered_url is not None,
            },
            "activity": {
                machine_identifier: {
                    "last_update_success": activity.last_update_success,
                    "refused": activity.refused,
                    "listening": activity.listening,
                    "sessions": len(activity.data or []),
                    "transcoding": sum(s.transcoding for s in activity.data or []),
                }
                for machine_identifier, activity in runtime.activity.items()
            },
            "libraries": {
                machine_identifier: {
                    "last_update_success": libraries.last_update_success,
                    "refused": libraries.refused,
                    "recently_added": len(libraries.data.recently_added)
                    if libraries.data
                    else 0,
                    "libraries": [
                        {
                            "library": library.section.title,
                            "type": library.section.section_type,
                            "changed_at": library.section.changed_at,
                            **library.counts,
                        }
                        for library in (
                            libraries.data.libraries.values() if libraries.data else ()
                        )
                    ],
                }
                for machine_identifier, libraries in runtime.libraries.items()
            },
            "last_update_success": coordinator.last_update_success,
            "account": asdict(coordinator.data.account),
            "servers": [
                {
                    **asdict(server),
                    "connections": [asdict(c) for c in server.connections],
                }
                for server in coordinator.data.servers.values()
            ],
        },
        TO_REDACT,
    )
