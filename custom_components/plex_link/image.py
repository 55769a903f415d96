"""Image entities of Plex Link: the poster of each library's newest item."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .const import LOGGER
from .coordinator import PlexLinkConfigEntry
from .libraries import (
    PlexLinkLibraryCoordinator,
    PlexLinkLibraryEntity,
    async_add_library_entities,
)
from .library_images import KINDS
from .plexserver import PlexServerError

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PlexLinkImageDescription(ImageEntityDescription):
    """Describes an image of a library."""


DESCRIPTIONS = (
    PlexLinkImageDescription(key="library_image", translation_key="library_image"),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PlexLinkConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an image of each library once its server's libraries are read."""
    async_add_library_entities(
        hass,
        entry,
        async_add_entities,
        library=lambda libraries, key: (
            PlexLinkLibraryImage(hass, libraries, description, key)
            for description in DESCRIPTIONS
        ),
    )


class PlexLinkLibraryImage(PlexLinkLibraryEntity, ImageEntity):
    """The poster of a library's newest film, episode (its show's), album or photo.

    Fetched through the same cache as the image view; the frontend loads it
    through Home Assistant's image proxy, with no Plex token in any URL.
    image_last_updated moves when the newest item, or its poster, changes.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: PlexLinkLibraryCoordinator,
        description: PlexLinkImageDescription,
        key: str,
    ) -> None:
        """Start from the library's newest item as last read."""
        PlexLinkLibraryEntity.__init__(self, coordinator, description, key)
        ImageEntity.__init__(self, hass)
        self._shown: tuple[str, str] | None = None
        self._follow_newest()

    def _poster(self) -> tuple[str, str] | None:
        """Return the rating key and poster path of the library's newest item."""
        if (library := self.library) is None or (newest := library.newest) is None:
            return None
        if (path := newest.poster) is None:
            return None
        return newest.rating_key, path

    def _follow_newest(self) -> bool:
        """Take the newest item's poster; tell whether it changed."""
        poster = self._poster()
        if poster == self._shown:
            return False
        library = self.library
        newest = library.newest if library is not None else None
        first = self._shown is None and self._attr_image_last_updated is None
        self._shown = poster
        if first and newest is not None and newest.added_at is not None:
            self._attr_image_last_updated = newest.added_at
        else:
            self._attr_image_last_updated = dt_util.utcnow()
        self._cached_image = None
        return True

    @callback
    def _handle_coordinator_update(self) -> None:
        """Follow the newest item, then write the state."""
        if self.coordinator.answering:
            self._follow_newest()
        super()._handle_coordinator_update()

    async def async_image(self) -> bytes | None:
        """Return the newest item's poster, from the cache or the server."""
        if (poster := self._shown) is None:
            return None
        width, height = KINDS["poster"]
        try:
            body, content_type = await self.coordinator.images.async_image(
                self.coordinator.client, poster[1], width, height
            )
        except PlexServerError as err:
            LOGGER.debug("No poster for %s: %s", self.entity_id, err)
            return None
        self._attr_content_type = content_type
        return body
