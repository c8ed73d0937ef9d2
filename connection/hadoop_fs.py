"""A directory on any Hadoop filesystem (hdfs://, s3a://, file:/...), read and written from
Python through the driver JVM's Hadoop client: the same client, configuration and atomic
file helper (Spark's CheckpointFileManager) that Spark's own streaming checkpoint uses.

One client, not a second one in Python: what Spark can reach for its checkpoint, this can
reach for the files kept beside it, with the same settings (``spark.hadoop.*``,
core-site.xml, credentials of the cluster).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from py4j.protocol import Py4JError
from pyspark.sql import SparkSession

from connection.spark import java_failure

#: Spark's atomic-file helper: a temp file published by close(), thrown away by cancel().
CHECKPOINT_FILE_MANAGER = (
    "org.apache.spark.sql.execution.streaming.checkpointing.CheckpointFileManager"
)
#: Hadoop's IPC client waits this long between tries to connect to a NameNode (its default).
IPC_RETRY_INTERVAL_MS = 1000
#: Hadoop's default connect timeout is 20 s, tried 45 times (15 minutes): far past any
#: --max-wait. Each try waits at most this long here.
IPC_CONNECT_TIMEOUT_MS = 5000


class HadoopFsError(Exception):
    """A filesystem call failed; the message is one line naming the location."""


def filesystem_uri(location: str) -> str:
    """location as a Hadoop URI: one with a scheme as given; a plain path (relative to the
    working directory) as an absolute file: URI, so it never lands on a cluster's default
    filesystem (fs.defaultFS) by accident."""
    if len(urlparse(location).scheme) > 1:  # not a Windows drive letter
        return location
    return Path(location).resolve().as_uri()


def bound_ipc_retries(spark: SparkSession, max_wait_s: float) -> None:
    """Hadoop's IPC retries (a NameNode that refuses or does not answer) bounded by
    max_wait_s, in the session's Hadoop configuration: Spark's checkpoint and these files
    give up together, instead of after Hadoop's 10 refused tries or 15 minutes of
    timeouts. Set before the first call to the filesystem (clients are cached)."""
    conf = spark._jsc.hadoopConfiguration()
    retries = max(1, math.ceil(max_wait_s * 1000 / IPC_RETRY_INTERVAL_MS))
    conf.set("ipc.client.connect.retry.interval", str(IPC_RETRY_INTERVAL_MS))
    conf.set("ipc.client.connect.max.retries", str(retries))
    conf.set("ipc.client.connect.timeout", str(IPC_CONNECT_TIMEOUT_MS))
    conf.set(
        "ipc.client.connect.max.retries.on.timeouts",
        str(max(1, math.ceil(max_wait_s * 1000 / IPC_CONNECT_TIMEOUT_MS))),
    )


class HadoopDirectory:
    """One directory of a Hadoop filesystem: its files read, listed and atomically replaced."""

    def __init__(self, spark: SparkSession, uri: str) -> None:
        self.uri = uri
        jvm: Any = spark._jvm
        self.jvm = jvm
        self.conf = spark._jsc.hadoopConfiguration()
        try:
            self.path = jvm.org.apache.hadoop.fs.Path(uri)
            self.fs = self.path.getFileSystem(self.conf)
            manager = getattr(jvm, CHECKPOINT_FILE_MANAGER)
            self.manager = manager.create(self.path, self.conf)
        except Py4JError as error:
            raise self.failure(error) from None

    def failure(self, error: Py4JError) -> HadoopFsError:
        text = java_failure(error)
        if "UnsupportedFileSystemException" in text:
            return HadoopFsError(
                f"{self.uri}: no Hadoop filesystem for scheme {urlparse(self.uri).scheme!r} "
                f"(this Hadoop client knows: {', '.join(self.known_schemes())})"
            )
        return HadoopFsError(f"{self.uri}: {text}")

    def known_schemes(self) -> list[str]:
        """The schemes of the filesystems on the driver's classpath (ServiceLoader)."""
        file_system = self.jvm.java.lang.Class.forName("org.apache.hadoop.fs.FileSystem")
        found = self.jvm.java.util.ServiceLoader.load(file_system).iterator()
        schemes = set()
        while found.hasNext():
            try:
                schemes.add(str(found.next().getScheme()))
            except Py4JError:  # a filesystem that names no scheme of its own
                continue
        return sorted(schemes - {"nullscan"})

    def child(self, name: str) -> Any:
        return self.jvm.org.apache.hadoop.fs.Path(self.path, name)

    def read(self, name: str) -> bytes | None:
        """The file's bytes; None when there is no such file."""
        try:
            target = self.child(name)
            if not self.manager.exists(target):
                return None
            stream = self.manager.open(target)
            try:
                # py4j copies a bytearray handed to Java: read into one Java makes instead.
                return bytes(self.jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
            finally:
                stream.close()
        except Py4JError as error:
            raise self.failure(error) from None

    def names(self, subdirectory: str) -> list[str]:
        """The names in subdirectory (none when it does not exist)."""
        try:
            target = self.child(subdirectory)
            if not self.manager.exists(target):
                return []
            return [str(status.getPath().getName()) for status in self.fs.listStatus(target)]
        except Py4JError as error:
            raise self.failure(error) from None

    def replace(self, name: str, data: bytes) -> None:
        """Replace the file with data atomically and durably: written to a temp file,
        hsync'ed (Spark's manager does not sync), then published by close() (a rename on
        HDFS and local disks); a failure before that throws the temp file away. A reader
        sees the old file or the new one, never a mix."""
        try:
            self.manager.mkdirs(self.path)
            stream = self.manager.createAtomic(self.child(name), True)
            try:
                stream.write(bytearray(data))
                stream.hsync()
            except BaseException:
                stream.cancel()
                raise
            stream.close()
        except Py4JError as error:
            raise self.failure(error) from None
