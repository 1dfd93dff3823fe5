"""End to end: Immich's typed Python client (immichpy, generated from Immich's own OpenAPI
document) against a real `hearth serve` on 127.0.0.1.

Usage: immichpy_e2e.py --url http://127.0.0.1:PORT --email E --password P --photos DIR
Exits non-zero on the first check that fails, naming it.
"""
import argparse
import asyncio
import hashlib
import sys
import tempfile
from pathlib import Path

from immichpy import AsyncClient
from immichpy.client.generated.models import (
    AssetBulkDeleteDto,
    AssetMediaSize,
    BulkIdsDto,
    CreateAlbumDto,
    LoginCredentialDto,
    UpdateAssetDto,
)

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"immichpy e2e: FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    checks += 1


def sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


async def main(a):
    photos = sorted(p for p in Path(a.photos).iterdir() if p.is_file())
    check(len(photos) > 0, "the photo folder has photos")
    async with AsyncClient(base_url=a.url) as anon:
        pong = await anon.server.ping_server()
        check(pong.res == "pong", "server/ping answers pong")
        version = await anon.server.get_server_version()
        check(version.major == 3, f"server reports Immich 3.x (got {version.major}.{version.minor})")
        login = await anon.auth.login(LoginCredentialDto(email=a.email, password=a.password))
        check(login.access_token and login.user_email == a.email, "login returns a token for the person")

    async with AsyncClient(base_url=a.url, access_token=login.access_token) as c:
        me = await c.users.get_my_user()
        check(me.email == a.email, "users/me is the person who logged in")

        first = await c.assets.upload(photos, concurrency=4)
        check(first.stats.uploaded == len(photos) and not first.failed,
              f"first upload stores every photo ({first.stats})")
        second = await c.assets.upload(photos, concurrency=4)
        check(second.stats.uploaded == 0 and second.stats.rejected == len(photos)
              and all(r.reason == "duplicate" for r in second.rejected),
              f"second upload reports every photo a duplicate ({second.stats})")
        ids = {e.filepath.name: e.asset.id for e in first.uploaded}
        dup_ids = {r.filepath.name: r.asset_id for r in second.rejected}
        check(ids == dup_ids, "duplicates name the ids the first upload returned")

        buckets = await c.timeline.get_time_buckets()
        check(sum(b.count for b in buckets) == len(photos), f"timeline buckets count every photo ({buckets})")
        bucket = await c.timeline.get_time_bucket(time_bucket=buckets[0].time_bucket)
        check(len(bucket.id) == buckets[0].count, "a bucket lists as many assets as its count")
        check(set(map(str, bucket.id)) <= set(map(str, ids.values())), "a bucket lists uploaded ids")

        album = await c.albums.create_album(CreateAlbumDto(album_name="Holiday"))
        some = list(ids.values())[:3]
        added = await c.albums.add_assets_to_album(id=album.id, bulk_ids_dto=BulkIdsDto(ids=some))
        check(all(r.success for r in added), "assets are added to the album")
        info = await c.albums.get_album_info(id=album.id)
        check(info.asset_count == len(some), f"the album holds what was added ({info.asset_count})")

        target = some[0]
        await c.assets.update_asset(id=target, update_asset_dto=UpdateAssetDto(
            is_favorite=True, description="edited through the Immich client"))
        asset = await c.assets.get_asset_info(id=target)
        check(asset.is_favorite and asset.exif_info.description == "edited through the Immich client",
              "an edit reads back")

        with tempfile.TemporaryDirectory() as out:
            name = next(n for n, i in ids.items() if i == target)
            got = await c.assets.download_asset_to_file(id=target, out_dir=Path(out), filename="original")
            check(sha1(got) == sha1(Path(a.photos) / name), "the original downloads byte-identical")
            thumb = await c.assets.view_asset_to_file(id=target, out_dir=Path(out), size=AssetMediaSize.THUMBNAIL,
                                                      filename="thumb")
            head = thumb.read_bytes()[:12]
            check(head[:4] == b"RIFF" and head[8:12] == b"WEBP", "the thumbnail is a WebP image")

        await c.assets.delete_assets(asset_bulk_delete_dto=AssetBulkDeleteDto(ids=[target]))
        trashed = await c.timeline.get_time_buckets(is_trashed=True)
        check(sum(b.count for b in trashed) == 1, "the trashed asset is in the trash")
        await c.trash.restore_assets(bulk_ids_dto=BulkIdsDto(ids=[target]))
        after = await c.timeline.get_time_buckets()
        check(sum(b.count for b in after) == len(photos), "restore brings it back to the timeline")
    print(f"immichpy e2e: {checks} checks passed ({len(photos)} photos)")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--photos", required=True)
    asyncio.run(main(p.parse_args()))
