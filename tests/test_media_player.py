"""Media players: every player of the account's own server, over real HTTP on loopback.

The plex.tv stand-in lists the demo account's server "Media Shelf" with the
Plex Media Server stand-in as its local connection. The stand-in lists two
players on `/clients`: "Living room TV" takes playback commands, "Phone" takes
none; sessions name them by their machine identifiers.
"""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.media_player import (
    ATTR_MEDIA_CONTENT_TYPE,
    ATTR_MEDIA_POSITION,
    ATTR_MEDIA_SEEK_POSITION,
    ATTR_MEDIA_TITLE,
    ATTR_MEDIA_VOLUME_LEVEL,
    DOMAIN as MEDIA_PLAYER_DOMAIN,
    MediaPlayerEntityFeature,
    MediaType,
)
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_ENTITY_PICTURE,
    ATTR_SUPPORTED_FEATURES,
    SERVICE_MEDIA_PAUSE,
    SERVICE_MEDIA_PLAY,
    SERVICE_MEDIA_SEEK,
    SERVICE_MEDIA_STOP,
    SERVICE_VOLUME_SET,
    STATE_IDLE,
    STATE_PAUSED,
    STATE_PLAYING,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .conftest import attribute, state, wait_for
from .standin import Fault, PlexTvStandIn
from .standin.server import PlexMediaServerStandIn

TV = "media_player.living_room_tv"
PHONE = "media_player.phone"
WATCHING = "sensor.media_shelf_watching"
CONTROLS = (
    MediaPlayerEntityFeature.PAUSE
    | MediaPlayerEntityFeature.PLAY
    | MediaPlayerEntityFeature.STOP
    | MediaPlayerEntityFeature.SEEK
)


pytestmark = pytest.mark.usefixtures("fast_servers")


@pytest.fixture
async def linked(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> MockConfigEntry:
    """Set up the demo account and wait until the server's players are known."""
    caplog.set_level(logging.DEBUG)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_for(
        lambda: state(hass, TV) == STATE_IDLE
        and state(hass, PHONE) == STATE_IDLE
        and plex_server.open_websockets == 1
    )
    return mock_config_entry


async def _call(hass: HomeAssistant, service: str, entity_id: str, **data: Any) -> None:
    """Call a media player action and wait for it."""
    await hass.services.async_call(
        MEDIA_PLAYER_DOMAIN,
        service,
        {ATTR_ENTITY_ID: entity_id, **data},
        blocking=True,
    )


async def test_a_session_shows_on_its_player_with_artwork(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """A film starts: the TV plays it with title, length, position and artwork through Home Assistant."""
    await plex_server.start_session(player="Living room TV", title="A Film")
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)
    current = hass.states.get(TV)
    assert current is not None
    assert current.attributes[ATTR_MEDIA_TITLE] == "A Film"
    assert current.attributes[ATTR_MEDIA_CONTENT_TYPE] == MediaType.MOVIE
    assert current.attributes["media_duration"] > 0
    assert current.attributes[ATTR_MEDIA_POSITION] >= 0
    assert current.attributes["user"] == "Demo Person"
    picture = current.attributes[ATTR_ENTITY_PICTURE]
    assert picture.startswith(f"/api/media_player_proxy/{TV}?")
    assert state(hass, PHONE) == STATE_IDLE

    assert await async_setup_component(hass, "http", {})
    client = await hass_client()
    before = plex_server.image_requests
    for _ in range(5):
        response = await client.get(picture)
        assert response.status == HTTPStatus.OK
        assert response.content_type == "image/jpeg"
        assert (await response.read())[:2] == b"\xff\xd8"
    assert plex_server.image_requests == before + 1
    artwork = [r for r in plex_server.requests if r.endpoint == "photo_transcode"]
    assert artwork
    token = plex_server.server.access_token
    for request in artwork:
        assert request.headers["X-Plex-Token"] == token
        assert token not in request.path
        assert token not in str(request.query)
        assert int(request.query["width"]) <= 1000


async def test_controls_reach_the_player_through_the_server(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """Pause, play, seek, volume and stop reach the TV through the server, and the state follows."""
    tv = plex_server.player_named("Living room TV")
    session_id = await plex_server.start_session(player="Living room TV")
    await wait_for(
        lambda: state(hass, TV) == STATE_PLAYING
        and attribute(hass, TV, ATTR_SUPPORTED_FEATURES) & CONTROLS == CONTROLS
    )

    await _call(hass, SERVICE_MEDIA_PAUSE, TV)
    await wait_for(lambda: state(hass, TV) == STATE_PAUSED)
    assert plex_server.sessions[session_id].state == "paused"
    await _call(hass, SERVICE_MEDIA_PLAY, TV)
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)
    await _call(hass, SERVICE_MEDIA_SEEK, TV, **{ATTR_MEDIA_SEEK_POSITION: 600})
    await wait_for(lambda: attribute(hass, TV, ATTR_MEDIA_POSITION) >= 600)
    await _call(hass, SERVICE_VOLUME_SET, TV, **{ATTR_MEDIA_VOLUME_LEVEL: 0.4})
    assert tv.volume == 40
    assert attribute(hass, TV, ATTR_MEDIA_VOLUME_LEVEL) == 0.4
    await _call(hass, SERVICE_MEDIA_STOP, TV)
    await wait_for(lambda: state(hass, TV) == STATE_IDLE)

    token = plex_server.server.access_token
    commands = [command.command for command in plex_server.commands]
    assert commands == [
        "playback/pause",
        "playback/play",
        "playback/seekTo",
        "playback/setParameters",
        "playback/stop",
    ]
    ids = [int(command.query["commandID"]) for command in plex_server.commands]
    assert ids == sorted(set(ids))
    for command in plex_server.commands:
        assert command.target == tv.machine_identifier
        assert command.headers["X-Plex-Token"] == token
        assert "X-Plex-Token" not in command.query
        assert command.status == HTTPStatus.OK
    assert plex_server.commands[2].query["offset"] == "600000"


async def test_a_stopped_player_is_idle_not_unavailable_and_stays_after_a_reload(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """When playback stops the player is idle; a reload keeps it, idle."""
    session_id = await plex_server.start_session(player="Living room TV")
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)
    await plex_server.stop_session(session_id)
    await wait_for(lambda: state(hass, TV) == STATE_IDLE)
    assert attribute(hass, TV, ATTR_MEDIA_TITLE) is None
    assert attribute(hass, TV, ATTR_ENTITY_PICTURE) is None

    assert await hass.config_entries.async_reload(linked.entry_id)
    await wait_for(lambda: state(hass, TV) == STATE_IDLE)


async def test_a_player_without_controls_offers_stop_by_ending_its_session(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """The phone takes no commands: no pause is offered, and stop ends its session on the server."""
    session_id = await plex_server.start_session(player="Phone")
    await wait_for(lambda: state(hass, PHONE) == STATE_PLAYING)
    features = attribute(hass, PHONE, ATTR_SUPPORTED_FEATURES)
    assert features == MediaPlayerEntityFeature.STOP

    with pytest.raises(HomeAssistantError):
        await _call(hass, SERVICE_MEDIA_PAUSE, PHONE)
    assert not plex_server.commands

    await _call(hass, SERVICE_MEDIA_STOP, PHONE)
    await wait_for(lambda: state(hass, PHONE) == STATE_IDLE)
    assert session_id in plex_server.terminated
    assert plex_server.terminated[session_id] == (
        "Playback was stopped from Home Assistant."
    )
    assert not plex_server.commands


async def test_a_refused_command_is_an_error_never_silent(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A player that refuses or does not answer makes the action fail, translated."""
    tv = plex_server.player_named("Living room TV")
    await plex_server.start_session(player="Living room TV")
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)

    plex_server.inject("player_command", Fault(status=500))
    with pytest.raises(HomeAssistantError) as raised:
        await _call(hass, SERVICE_MEDIA_PAUSE, TV)
    assert raised.value.translation_key == "player_command_failed"
    assert state(hass, TV) == STATE_PLAYING

    tv.silent = True
    with pytest.raises(HomeAssistantError) as raised:
        await _call(hass, SERVICE_MEDIA_PAUSE, TV)
    assert raised.value.translation_key == "player_command_failed"
    assert state(hass, TV) == STATE_PLAYING


async def test_a_managed_users_player_appears(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A player that only a managed user's session names gets its media player too."""
    await plex_server.start_session(user="Kid", player="Bedroom tablet")
    entity_id = "media_player.bedroom_tablet"
    await wait_for(lambda: state(hass, entity_id) == STATE_PLAYING)
    assert attribute(hass, entity_id, "user") == "Kid"


async def test_a_server_that_refuses_its_player_list_still_gets_players(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
) -> None:
    """With `/clients` refused, the players come from the sessions, without controls."""
    plex_server.inject("clients", Fault(status=403), times=None)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await wait_for(lambda: state(hass, WATCHING) == "0")
    assert state(hass, TV) is None
    await plex_server.start_session(player="Living room TV")
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)
    assert not attribute(hass, TV, ATTR_SUPPORTED_FEATURES) & (
        MediaPlayerEntityFeature.PAUSE
    )


async def test_players_are_unavailable_only_while_the_server_cannot_be_read(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A failed read of the sessions makes the players unavailable, the next success idle again."""
    coordinator = linked.runtime_data.activity[plex_server.server.machine_identifier]
    plex_server.inject("sessions", Fault(status=500), times=None)
    await coordinator.async_refresh()
    assert state(hass, TV) == STATE_UNAVAILABLE
    plex_server.clear_faults()
    await coordinator.async_refresh()
    assert state(hass, TV) == STATE_IDLE


@pytest.mark.parametrize(
    "name",
    ["\x00\x1b[31mTV\x07" + "x" * 300, "   ", "Living room TV"],
)
async def test_hostile_player_names_give_valid_entities(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    name: str,
) -> None:
    """Control characters, blanks, length and a duplicate name give usable, unique entities."""
    plex_server.add_player(
        name, machine_identifier="odd\n" + "y" * 500, capabilities="timeline"
    )
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    def media_players() -> list[er.RegistryEntry]:
        """Return the entry's media players."""
        return [
            entry
            for entry in er.async_entries_for_config_entry(
                entity_registry, mock_config_entry.entry_id
            )
            if entry.domain == MEDIA_PLAYER_DOMAIN
        ]

    await wait_for(lambda: len(media_players()) == 3)
    assert len({entry.unique_id for entry in media_players()}) == 3
    await wait_for(
        lambda: all(state(hass, e.entity_id) == STATE_IDLE for e in media_players())
    )
    for entry in media_players():
        assert len(entry.unique_id) < 200
        assert entry.unique_id.isprintable()
        friendly = attribute(hass, entry.entity_id, "friendly_name")
        assert friendly.isprintable()
        assert 0 < len(friendly) <= 64
        assert friendly == friendly.strip()


async def test_a_player_not_seen_for_30_days_is_removed(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A player no server has named for 30 days goes with its device; one still listed stays.

    The clock is frozen, so the sessions are read by hand rather than waited for.
    """
    plex_server.add_player("Old laptop", capabilities="timeline", listed=False)
    laptop = "media_player.old_laptop"
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    coordinator = mock_config_entry.runtime_data.activity[
        plex_server.server.machine_identifier
    ]

    async def read_sessions() -> None:
        """Read the server's sessions now, and let everything that follows finish."""
        await coordinator.async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)

    session_id = await plex_server.start_session(player="Old laptop")
    await read_sessions()
    assert state(hass, laptop) == STATE_PLAYING
    await plex_server.stop_session(session_id)
    await read_sessions()
    assert state(hass, laptop) == STATE_IDLE

    freezer.tick(timedelta(days=29))
    await read_sessions()
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, laptop) == STATE_IDLE

    freezer.tick(timedelta(days=2))
    await read_sessions()
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, laptop) is None
    names = {
        device.name
        for device in dr.async_entries_for_config_entry(
            device_registry, mock_config_entry.entry_id
        )
    }
    assert "Old laptop" not in names
    assert "Living room TV" in names
    assert state(hass, TV) is not None


async def test_a_person_can_remove_a_player_but_not_the_account_or_server(
    hass: HomeAssistant,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: Any,
) -> None:
    """The device page's delete works for a player, which comes back when it plays again.

    It is refused for the account and its servers.
    """
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    devices = dr.async_entries_for_config_entry(device_registry, linked.entry_id)
    by_name = {device.name: device for device in devices}
    for name, removable in (
        ("Phone", True),
        ("Media Shelf", False),
        ("Demo Person", False),
    ):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": linked.entry_id,
                "device_id": by_name[name].id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is removable, name
    assert state(hass, PHONE) is None
    remaining = dr.async_entries_for_config_entry(device_registry, linked.entry_id)
    assert "Phone" not in {device.name for device in remaining}

    await plex_server.start_session(player="Phone")
    await wait_for(lambda: state(hass, PHONE) == STATE_PLAYING)


async def test_no_token_in_states_pictures_or_log(
    hass: HomeAssistant,
    plex_tv: PlexTvStandIn,
    plex_server: PlexMediaServerStandIn,
    linked: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No token, account or server, is in any state, attribute, picture or log line."""
    await plex_server.start_session(player="Living room TV", media_type="episode")
    await plex_server.start_session(player="Phone", media_type="track")
    await wait_for(
        lambda: state(hass, TV) == STATE_PLAYING and state(hass, PHONE) == STATE_PLAYING
    )
    secrets = [*plex_tv.issued_tokens, plex_server.server.access_token]
    text = str([current.as_dict() for current in hass.states.async_all()])
    text += caplog.text
    for secret in secrets:
        assert secret not in text
        assert secret[:8] not in text
    assert attribute(hass, TV, "media_series_title")
    assert attribute(hass, PHONE, "media_album_name")


async def test_a_players_device_hangs_off_its_server(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A player's device is named and modelled after the player, under the server's device."""
    await plex_server.start_session(player="Living room TV")
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)
    registry = dr.async_get(hass)
    devices = dr.async_entries_for_config_entry(registry, linked.entry_id)
    server = next(device for device in devices if device.name == "Media Shelf")
    tv = next(device for device in devices if device.name == "Living room TV")
    assert tv.via_device_id == server.id
    assert tv.model == "Plex for Android (TV)"


async def test_steady_reports_write_no_state_and_read_nothing(
    hass: HomeAssistant, plex_server: PlexMediaServerStandIn, linked: MockConfigEntry
) -> None:
    """A player reporting its timeline every 0.2 s changes nothing; a seek is one read, one state."""
    session_id = await plex_server.start_session(player="Living room TV")
    await wait_for(lambda: state(hass, TV) == STATE_PLAYING)
    await hass.async_block_till_done(wait_background_tasks=True)
    changes: list[Event[EventStateChangedData]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        """Keep a state change of the player."""
        changes.append(event)

    async_track_state_change_event(hass, [TV], record)

    plex_server.start_timelines(0.2, limit=10)
    # Counted from the second report on: a read the start asked for is done by then.
    await wait_for(lambda: plex_server.timeline_reports >= 2)
    reads = plex_server.count("sessions")
    await wait_for(lambda: plex_server.timeline_reports == 10)
    await plex_server.seek(session_id, 3_600_000)
    await wait_for(lambda: attribute(hass, TV, ATTR_MEDIA_POSITION) >= 3_600)

    assert len(changes) == 1
    assert plex_server.count("sessions") == reads + 1
