"""copy, delete, file-write, json/toml updates and the parse steps on real files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from kargo.steps.base import StepPhase
from kargo.steps.documents import (
    JsonParseStep,
    JsonUpdateStep,
    TomlParseStep,
    TomlUpdateStep,
    YamlParseStep,
)
from kargo.steps.file_ops import CopyStep, DeleteConfig, DeleteStep, FileWriteConfig, FileWriteStep

from tests.pipeline.steps.support import context, run


def test_copy_copies_files_and_merges_folders_without_git(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (ctx.work_dir / "src/.git").mkdir(parents=True)
    (ctx.work_dir / "src/a.yaml").write_text("a\n")
    (ctx.work_dir / "src/sub").mkdir()
    (ctx.work_dir / "src/sub/b.yaml").write_text("b\n")
    (ctx.work_dir / "out").mkdir()
    (ctx.work_dir / "out/kept.txt").write_text("k\n")
    assert run(CopyStep(), ctx, {"inPath": "src", "outPath": "out"}).phase is StepPhase.SUCCEEDED
    assert sorted(p.name for p in (ctx.work_dir / "out").iterdir()) == ["a.yaml", "kept.txt", "sub"]
    single = run(CopyStep(), ctx, {"inPath": "src/a.yaml", "outPath": "new/dir/a.yaml"})
    assert single.phase is StepPhase.SUCCEEDED and (ctx.work_dir / "new/dir/a.yaml").exists()
    missing = run(CopyStep(), ctx, {"inPath": "nope", "outPath": "x"})
    assert missing.phase is StepPhase.ERRORED and "config.inPath" in missing.message
    escape = run(CopyStep(), ctx, {"inPath": "src", "outPath": "../../elsewhere"})
    assert escape.phase is StepPhase.FAILED and "config.outPath" in escape.message


def test_delete_paths_globs_and_strict(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    for name in ("a.tmp", "b.tmp", "keep.yaml", "dir/c.tmp"):
        (ctx.work_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx.work_dir / name).write_text("x")
    globbed = run(DeleteStep(), ctx, {"paths": ["*.tmp", "dir"], "pathsAreGlobs": True})
    assert globbed.phase is StepPhase.SUCCEEDED, globbed.message
    assert sorted(p.name for p in ctx.work_dir.iterdir()) == ["keep.yaml"]
    lenient = run(DeleteStep(), ctx, {"path": "gone.txt"})
    assert lenient.phase is StepPhase.SUCCEEDED
    strict = run(DeleteStep(), ctx, {"path": "gone.txt", "strict": True})
    assert strict.phase is StepPhase.FAILED and "'gone.txt' matches nothing" in strict.message
    with pytest.raises(ValueError, match="exactly one of path or paths"):
        DeleteConfig.model_validate({"path": "a", "paths": ["b"]})


def test_file_write_modes_overwrite_and_git(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    written = run(FileWriteStep(), ctx, {"path": "notes/a.txt", "contents": "hello\n"})
    assert written.phase is StepPhase.SUCCEEDED
    target = ctx.work_dir / "notes/a.txt"
    assert target.read_text() == "hello\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    again = run(FileWriteStep(), ctx, {"path": "notes/a.txt", "contents": "x"})
    assert again.phase is StepPhase.FAILED and "overwrite: true" in again.message
    run(
        FileWriteStep(),
        ctx,
        {"path": "notes/a.txt", "contents": "", "overwrite": True, "permissions": "0644"},
    )
    assert target.read_text() == "" and stat.S_IMODE(target.stat().st_mode) == 0o644
    into_git = run(FileWriteStep(), ctx, {"path": "repo/.git/config", "contents": "x"})
    assert into_git.phase is StepPhase.FAILED and ".git" in into_git.message
    with pytest.raises(ValueError, match="executable"):
        FileWriteConfig.model_validate({"path": "a", "contents": "", "permissions": "0755"})


def test_json_update_keeps_order_and_indentation(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    file = ctx.work_dir / "config.json"
    file.write_text('{\n    "name": "web",\n    "image": {"tag": "1"},\n    "list": [1, 2]\n}\n')
    result = run(
        JsonUpdateStep(),
        ctx,
        {
            "path": "config.json",
            "updates": [{"key": "image.tag", "value": "2"}, {"key": "list.1", "value": 5}],
        },
    )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert file.read_text() == (
        '{\n    "name": "web",\n    "image": {\n        "tag": "2"\n    },\n'
        '    "list": [\n        1,\n        5\n    ]\n}\n'
    )
    assert result.outputs["commitMessage"] == 'Updated config.json\n\n- image.tag: "2"\n- list.1: 5'
    file.write_text("{not json")
    broken = run(
        JsonUpdateStep(), ctx, {"path": "config.json", "updates": [{"key": "a", "value": 1}]}
    )
    assert broken.phase is StepPhase.ERRORED and "not valid JSON" in broken.message


def test_toml_update_keeps_comments_and_order(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    file = ctx.work_dir / "app.toml"
    file.write_text('# app settings\nname = "web"  # the name\n\n[image]\ntag = "1.0"\n')
    result = run(
        TomlUpdateStep(),
        ctx,
        {
            "path": "app.toml",
            "updates": [{"key": "image.tag", "value": "1.1"}, {"key": "replicas", "value": 3}],
        },
    )
    assert result.phase is StepPhase.SUCCEEDED, result.message
    text = file.read_text()
    assert text.startswith('# app settings\nname = "web"  # the name\n')
    assert 'tag = "1.1"' in text and "replicas = 3" in text


def test_parse_steps_extract_values_with_expressions(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (ctx.work_dir / "v.yaml").write_text("image:\n  tag: v1.2.3\nreplicas: 2\n")
    (ctx.work_dir / "v.json").write_text('{"image": {"tag": "v1.2.3"}}')
    (ctx.work_dir / "v.toml").write_text('[image]\ntag = "v1.2.3"\n')
    outputs = [{"name": "imageTag", "fromExpression": "image.tag"}]
    for step, path in (
        (YamlParseStep(), "v.yaml"),
        (JsonParseStep(), "v.json"),
        (TomlParseStep(), "v.toml"),
    ):
        result = run(step, ctx, {"path": path, "outputs": outputs})
        assert result.phase is StepPhase.SUCCEEDED, result.message
        assert result.outputs == {"imageTag": "v1.2.3"}  # Kargo's documented example
    bad = run(
        YamlParseStep(),
        ctx,
        {"path": "v.yaml", "outputs": [{"name": "x", "fromExpression": "nope.tag"}]},
    )
    assert bad.phase is StepPhase.FAILED and "config.outputs[0].fromExpression" in bad.message
    missing = run(JsonParseStep(), ctx, {"path": "absent.json", "outputs": outputs})
    assert missing.phase is StepPhase.ERRORED and "no such file" in missing.message
