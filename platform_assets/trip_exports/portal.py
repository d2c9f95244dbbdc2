"""The open-data portal client: create or replace the month's resources of the trips dataset.

The portal speaks a data.gouv.fr-like API: `GET {base}/datasets/{dataset}/resources/` lists
resources (JSON list of {"id", "title", ...}); `POST` there creates one; `PUT
{base}/datasets/{dataset}/resources/{id}/` replaces it. The API key goes in `X-API-KEY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platform_assets.lib.deferred import requests
from platform_assets.trip_exports.errors import PortalError


@dataclass(frozen=True)
class PublishedResource:
    id: str
    title: str
    action: str  # created | replaced


def publish_resource(
    base_url: str, dataset: str, api_key: str, title: str, url: str, description: str, file_format: str,
    size: int | None = None, timeout: float = 30.0,
) -> PublishedResource:
    """Create the resource titled `title`, or replace it when the dataset already has one."""
    if not base_url:
        raise PortalError("PLATFORM_OPENDATA_PORTAL_URL is empty: set the open-data portal API URL to publish")
    resources_url = f"{base_url.rstrip('/')}/datasets/{dataset}/resources/"
    headers = {"X-API-KEY": api_key} if api_key else {}
    payload: dict[str, Any] = {"title": title, "url": url, "description": description, "format": file_format,
                               "filesize": size, "type": "main"}
    try:
        listing = requests.get(resources_url, headers=headers, timeout=timeout)
        _check(listing, "list resources of", resources_url)
        existing = next((item for item in listing.json() if item.get("title") == title), None)
        if existing is None:
            response = requests.post(resources_url, json=payload, headers=headers, timeout=timeout)
            _check(response, "create resource at", resources_url)
            return PublishedResource(str(response.json().get("id", "")), title, "created")
        resource_url = f"{resources_url}{existing['id']}/"
        response = requests.put(resource_url, json=payload, headers=headers, timeout=timeout)
        _check(response, "replace resource at", resource_url)
        return PublishedResource(str(existing["id"]), title, "replaced")
    except requests.RequestException as error:
        raise PortalError(f"open-data portal {base_url} (PLATFORM_OPENDATA_PORTAL_URL) unreachable: {error}") from error
    except ValueError as error:
        raise PortalError(f"open-data portal {base_url} answered something that is not JSON: {error}") from error


def _check(response: requests.Response, action: str, url: str) -> None:
    if response.status_code >= 300:
        raise PortalError(f"open-data portal refused to {action} {url}: HTTP {response.status_code} {response.text[:200]}")
