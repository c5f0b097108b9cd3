from __future__ import annotations

import os
from pathlib import Path

import pytest

from autoissue.agent._scratch import empty_folder, keep_folder, refresh_file, remove, tidy


def test_refresh_file_writes_a_missing_file(tmp_path: Path) -> None:
    refresh_file(tmp_path / "f", b"data")
    assert (tmp_path / "f").read_bytes() == b"data"


def test_refresh_file_leaves_a_file_that_is_already_right_unwritten(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"data")
    os.utime(target, (1, 1))
    refresh_file(target, b"data")
    assert target.stat().st_mtime == 1  # not written at all


def test_refresh_file_replaces_a_changed_file_with_a_new_one(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old content")
    other_name = tmp_path / "g"
    os.link(target, other_name)  # a hard link an agent made: not written through
    refresh_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert other_name.read_bytes() == b"old content"
    assert target.stat().st_ino != other_name.stat().st_ino


def test_refresh_file_in_place_overwrites_the_same_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old content")
    inode = target.stat().st_ino
    refresh_file(target, b"new", in_place=True)  # shorter: the rest is cut off
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino == inode  # no file made
    refresh_file(target, b"neW", in_place=True)  # same size, other content
    assert target.read_bytes() == b"neW"


@pytest.mark.parametrize("in_place", [False, True])
def test_refresh_file_never_writes_through_a_link(tmp_path: Path, in_place: bool) -> None:
    ours = tmp_path / "ours"
    ours.write_bytes(b"precious")
    link = tmp_path / "f"
    link.symlink_to(ours)
    refresh_file(link, b"data", in_place=in_place)
    assert not link.is_symlink()
    assert link.read_bytes() == b"data"
    assert ours.read_bytes() == b"precious"


def test_refresh_file_replaces_a_dangling_link_and_a_folder(tmp_path: Path) -> None:
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")
    folder = tmp_path / "folder"
    (folder / "inside").mkdir(parents=True)
    for path in (dangling, folder):
        refresh_file(path, b"data")
        assert path.read_bytes() == b"data"
    assert not (tmp_path / "nowhere").exists()


def test_keep_folder_keeps_a_folder_and_makes_a_missing_one(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    folder.mkdir()
    (folder / "inside").write_text("x")
    keep_folder(folder)
    assert (folder / "inside").exists()
    keep_folder(tmp_path / "new")
    assert (tmp_path / "new").is_dir()


def test_keep_folder_replaces_a_link_to_a_folder_and_a_file(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "secret").write_text("x")
    link, file = tmp_path / "link", tmp_path / "file"
    link.symlink_to(ours)
    file.write_text("x")
    for path in (link, file):
        keep_folder(path)
        assert path.is_dir()
        assert not path.is_symlink()
        assert list(path.iterdir()) == []
    assert (ours / "secret").exists()


def test_empty_folder_keeps_only_the_named_regular_files(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    ours.write_text("precious")
    folder = tmp_path / "git"
    (folder / "refs" / "heads").mkdir(parents=True)
    (folder / "HEAD").write_text("ref")
    (folder / "index.lock").write_text("x")
    (folder / "index").symlink_to(ours)  # named, but a link: deleted, not followed
    empty_folder(folder, keep_files=("HEAD", "index"))
    assert sorted(p.name for p in folder.iterdir()) == ["HEAD"]
    assert ours.read_text() == "precious"


def test_tidy_keeps_what_is_named_and_empties_the_kept_folders(tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    (ours / "secret").mkdir(parents=True)
    folder = tmp_path / "slot"
    (folder / "tree").mkdir(parents=True)
    (folder / "tree" / "file").write_text("kept with the tree")
    (folder / "issue.json").write_text("{}")
    (folder / "out").mkdir()
    (folder / "out" / "result.json").write_text("{}")
    (folder / "git").mkdir()
    (folder / "git" / "HEAD").write_text("ref")
    (folder / "git" / "ORIG_HEAD").write_text("x")
    (folder / "objects").symlink_to(ours)  # a kept folder's name, but a link: deleted
    (folder / "stray").write_text("x")
    tidy(folder, keep=("tree", "issue.json"), empty={"out": (), "git": ("HEAD",), "objects": ()})
    assert sorted(p.name for p in folder.iterdir()) == ["git", "issue.json", "out", "tree"]
    assert (folder / "tree" / "file").exists()
    assert list((folder / "out").iterdir()) == []
    assert [p.name for p in (folder / "git").iterdir()] == ["HEAD"]
    assert (ours / "secret").is_dir()


@pytest.mark.parametrize("kind", ["file", "link", "folder", "absent"])
def test_remove_deletes_whatever_is_there(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x"
    if kind == "file":
        path.write_text("x")
    elif kind == "link":
        path.symlink_to(tmp_path)
    elif kind == "folder":
        (path / "inside").mkdir(parents=True)
    remove(path)
    assert not path.exists()
    assert not path.is_symlink()
    assert tmp_path.is_dir()
