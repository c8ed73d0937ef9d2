"""Class-data sharing for the Spark driver's JVM: an archive of the classes a session
loads, made once per install and mapped by every later start instead of parsing and
verifying those classes again.

The archive is keyed by the pyspark install and version and by the Java runtime that
will run it, and lives beside the connector jars in the stack's cache. It is made by
``python -m consumer.class_data`` from a session that runs the consumer's data path. A
start uses it only when it exists; a JVM that finds it unusable (another JDK build, pyspark
reinstalled) ignores it, with its CDS messages turned off so stdout stays the report's.
``SPARK_CLASS_DATA_SHARING=off`` starts without it (connection.settings reads it).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from pathlib import Path

import pyspark

ENV_SWITCH = "SPARK_CLASS_DATA_SHARING"
#: The JVM's CDS messages (an unusable archive, classes it cannot hold) go nowhere.
QUIET = "-Xlog:cds*=off -Xlog:class+path*=off"


def java_home(env: Mapping[str, str]) -> Path | None:
    """The Java installation Spark's launcher runs: JAVA_HOME, else `java` on PATH."""
    if env.get("JAVA_HOME"):
        return Path(env["JAVA_HOME"]).resolve()
    java = shutil.which("java", path=env.get("PATH"))
    return Path(java).resolve().parent.parent if java else None


def java_runtime_version(home: Path) -> str | None:
    """JAVA_RUNTIME_VERSION from the installation's `release` file (no JVM started)."""
    try:
        text = (home / "release").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "JAVA_RUNTIME_VERSION":
            return value.strip().strip('"')
    return None


def archive_path(cache_dir: Path, env: Mapping[str, str]) -> Path | None:
    """Where this install's archive is (made or not); None when the Java runtime is unknown."""
    home = java_home(env)
    version = java_runtime_version(home) if home else None
    if home is None or version is None:
        return None
    install = hashlib.sha256(f"{pyspark.__file__}\0{home}".encode()).hexdigest()[:12]
    name = f"pyspark-{pyspark.__version__}-java-{version.replace('+', '_')}-{install}.jsa"
    return cache_dir / "spark-class-data" / name


def archive_for(connector_jars_dir: Path, env: Mapping[str, str]) -> Path | None:
    """The archive for this install, in the stack cache the connector jars are in (None
    when switched off or the Java runtime is unknown); it may not be made yet."""
    if env.get(ENV_SWITCH, "on").lower() in ("off", "0", "false", "no"):
        return None
    return archive_path(connector_jars_dir.resolve().parent, env)


def java_options(archive: Path | None) -> str:
    """The driver JVM's options to use archive: none when it is not made (yet)."""
    return f"-XX:SharedArchiveFile={archive} {QUIET}" if archive and archive.is_file() else ""


def archiving_options(partial: Path) -> str:
    """The driver JVM's options to write its loaded classes to partial when it exits."""
    return f"-XX:ArchiveClassesAtExit={partial} {QUIET}"
