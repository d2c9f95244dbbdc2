"""Downloads: a presigned link to a successful export's zip, for a caller who may see it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.errors import ExportGone, ExportStateError
from platform_assets.trip_exports.records import new_session, visible_export, write_log
from platform_assets.trip_exports.scope import Actor

DOWNLOAD_LINK_SECONDS = 60


@dataclass(frozen=True)
class Download:
    key: str
    filename: str
    link: str

    @property
    def served_over_http(self) -> bool:
        """A link an HTTP client can follow (S3); else (file:// of the local store) the API
        serves the file itself."""
        return self.link.startswith(("http://", "https://"))


def prepare_download(engine: Engine, actor: Actor, export_uuid: str, store: ObjectStore,
                     seconds: int = DOWNLOAD_LINK_SECONDS) -> Download:
    """The export's zip for a caller who may see it (logged). ExportGone once expired;
    ExportStateError while not ready."""
    with new_session(engine) as session, session.begin():
        export = visible_export(session, actor, export_uuid)
        if export.status == "expired":
            raise ExportGone(f"export {export_uuid}: expired, its files were deleted")
        if export.status != "success" or not export.file_key:
            raise ExportStateError(f"export {export_uuid}: not ready for download (it is {export.status})")
        link = store.presigned_url(export.file_key, seconds)
        write_log(session, export, "download", f"download link ({seconds} s) given to {actor.user}")
        return Download(export.file_key, export.file_key.rsplit("/", 1)[-1], link)


def download_link(engine: Engine, actor: Actor, export_uuid: str, store: ObjectStore,
                  seconds: int = DOWNLOAD_LINK_SECONDS) -> str:
    """A presigned link to the export's zip, valid `seconds` (see prepare_download)."""
    return prepare_download(engine, actor, export_uuid, store, seconds).link
