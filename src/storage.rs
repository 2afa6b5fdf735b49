//! Where recordings live, shared by every process of an installation: a
//! directory (the embedded default, under the data directory) or
//! S3-compatible object storage (Ceph, MinIO, SeaweedFS, a cloud's S3), so
//! that servers and workers on different machines need no shared disk.
//!
//! Both go through Apache Arrow's `object_store` (the crate DataFusion,
//! Delta and InfluxDB use): one interface, signed S3 requests, multipart
//! uploads and ranged reads, instead of hand-signed HTTP.
//!
//! Keys are content-addressed and written once
//! (`recordings/ab/abcdef….wav`, the sha256 of the bytes), the same in every
//! backend, so a directory can be copied to a bucket as it is
//! (`hotline recordings migrate`). An object is referenced by the database
//! only after its upload completed: a process killed mid-upload leaves an
//! unfinished multipart upload (never visible) or a staging file, never a
//! referenced half-object.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, RetryConfig, WriteMultipart,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::{Config, S3Settings};

/// Upload part size: S3's minimum is 5 MiB; a 3-minute WAV at 8 kHz is
/// under 3 MB, so most recordings go up in one part.
const PART: usize = 5 * 1024 * 1024;

/// How long `/readyz` and the admin page wait for the store to answer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("recordings storage is misconfigured: {0}")]
    Config(String),
    #[error("no such recording in storage: {0}")]
    NotFound(String),
    /// The store did not answer or refused (network, credentials, bucket).
    #[error("recordings storage unavailable: {0}")]
    Unavailable(String),
    /// The object's bytes are not the ones its key names.
    #[error("recording {key} does not match its checksum (got {actual})")]
    Corrupt { key: String, actual: String },
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => StorageError::NotFound(path),
            other => StorageError::Unavailable(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Where a store keeps recordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoragePlace {
    /// A directory on this machine.
    Directory(String),
    /// S3-compatible object storage: `s3://bucket/prefix`, and the
    /// endpoint of a self-hosted store (none: AWS).
    ObjectStore {
        url: String,
        endpoint: Option<String>,
    },
}

impl std::fmt::Display for StoragePlace {
    /// For logs and operators' messages (no secrets).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoragePlace::Directory(dir) => write!(f, "file://{dir}"),
            StoragePlace::ObjectStore { url, endpoint } => {
                write!(f, "{url} at {}", endpoint.as_deref().unwrap_or("AWS"))
            }
        }
    }
}

/// Whether a process may use its configured store, given the object store
/// the installation recorded in its database (by the first process that
/// used one, or by `hotline recordings migrate`): every process must use
/// the same one, or recordings stored by one are missing for the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agreement {
    /// The same store, or directories with none recorded.
    Agrees,
    /// The first process on object storage: record it.
    Record(String),
    /// The installation's recordings are elsewhere.
    Conflict { recorded: String },
}

impl Agreement {
    pub fn of(recorded: Option<&str>, mine: Option<&str>) -> Agreement {
        match (recorded, mine) {
            (None, None) => Agreement::Agrees,
            (None, Some(url)) => Agreement::Record(url.to_owned()),
            (Some(r), Some(m)) if r == m => Agreement::Agrees,
            (Some(r), _) => Agreement::Conflict {
                recorded: r.to_owned(),
            },
        }
    }
}

/// A recordings store (cheap to clone).
#[derive(Clone)]
pub struct Storage {
    inner: Arc<dyn ObjectStore>,
    /// Under the bucket, for S3 (`s3://bucket/prefix`); empty otherwise.
    prefix: String,
    /// For a directory: where it is (files are read in place).
    dir: Option<PathBuf>,
    /// Where the store is, for logs and messages (no secrets).
    pub describe: String,
    place: StoragePlace,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl Storage {
    /// The store `cfg` names: `HOTLINE_RECORDINGS_URL` (`file:///path` or
    /// `s3://bucket/prefix`), else the data directory.
    pub fn from_config(cfg: &Config) -> Result<Storage> {
        let r = &cfg.recordings;
        match r.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => Storage::directory(&cfg.data_dir),
            Some(url) => Storage::open(url, &cfg.data_dir, &r.s3),
        }
    }

    /// `url` as a store; a `file://` URL or a bare path is a directory
    /// (relative to `data_dir`).
    pub fn open(url: &str, data_dir: &Path, s3: &S3Settings) -> Result<Storage> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StorageError::Config(format!("{url}: no bucket named")));
            }
            return Storage::s3(bucket, prefix.trim_matches('/'), s3);
        }
        if url.contains("://") && !url.starts_with("file://") {
            return Err(StorageError::Config(format!(
                "{url}: use file:///path or s3://bucket/prefix"
            )));
        }
        let path = PathBuf::from(url.trim_start_matches("file://"));
        Storage::directory(&data_dir.join(path))
    }

    /// A directory (created if missing).
    pub fn directory(dir: &Path) -> Result<Storage> {
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        let fs = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| StorageError::Config(format!("{}: {e}", dir.display())))?;
        let place = StoragePlace::Directory(dir.display().to_string());
        Ok(Storage {
            inner: Arc::new(fs),
            prefix: String::new(),
            describe: place.to_string(),
            place,
            dir: Some(dir),
        })
    }

    fn s3(bucket: &str, prefix: &str, s: &S3Settings) -> Result<Storage> {
        // A request gives up within half a minute (a few quick retries):
        // the job queue retries a failed job later with its own backoff,
        // so a store that is down never holds a worker for minutes.
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
        };
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(120));
        let mut b = AmazonS3Builder::new()
            .with_retry(retry)
            .with_client_options(client)
            .with_bucket_name(bucket)
            .with_region(s.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = s.endpoint.as_deref() {
            // Self-hosted stores: path-style addressing, plain HTTP allowed
            // when the endpoint says so.
            b = b
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if !s.access_key_id.is_empty() {
            b = b
                .with_access_key_id(&s.access_key_id)
                .with_secret_access_key(s.secret_access_key.expose());
        } else if s.endpoint.is_some() {
            // A self-hosted store without keys: anonymous requests (never
            // the cloud's instance-metadata credentials).
            b = b.with_skip_signature(true);
        }
        let store = b.build().map_err(|e| StorageError::Config(e.to_string()))?;
        let place = StoragePlace::ObjectStore {
            url: format!("s3://{bucket}/{prefix}"),
            endpoint: s.endpoint.clone(),
        };
        Ok(Storage {
            inner: Arc::new(store),
            prefix: prefix.to_owned(),
            dir: None,
            describe: place.to_string(),
            place,
        })
    }

    fn key(&self, key: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(key)
        } else {
            Key::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Whether the store answers (for `/readyz` and the admin page): a
    /// listing of one key, within a few seconds.
    pub async fn check(&self) -> Result<()> {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        let mut list = self.inner.list(prefix.as_ref());
        match tokio::time::timeout(CHECK_TIMEOUT, list.next()).await {
            Err(_) => Err(StorageError::Unavailable(format!(
                "no answer within {} s",
                CHECK_TIMEOUT.as_secs()
            ))),
            Ok(None | Some(Ok(_))) => Ok(()),
            Ok(Some(Err(e))) => Err(e.into()),
        }
    }

    /// Where the store is (no secrets).
    pub fn place(&self) -> &StoragePlace {
        &self.place
    }

    /// The store as every machine names it (`s3://bucket/prefix`; the
    /// endpoint may differ between networks); none for a directory, whose
    /// path is each machine's own.
    pub fn shared_url(&self) -> Option<&str> {
        match &self.place {
            StoragePlace::ObjectStore { url, .. } => Some(url),
            StoragePlace::Directory(_) => None,
        }
    }

    /// The object's size, if it exists.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        match self.inner.head(&self.key(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the file at `path` under `key` unless an object of the same
    /// size is there already (keys are content hashes: same key, same
    /// bytes). Streamed in parts: never more than one part in memory.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        let len = tokio::fs::metadata(path).await?.len();
        if self.size(key).await? == Some(len) {
            return Ok(());
        }
        let upload = self.inner.put_multipart(&self.key(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut file = tokio::fs::File::open(path).await?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(2).await {
                return Err(e.into());
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// The object as a local file to read: in place for a directory, else
    /// downloaded to `scratch` (streamed, hashed on the way). `expected`:
    /// the sha256 it was stored with, checked either way (empty: not
    /// checked).
    pub async fn local_copy(&self, key: &str, scratch: &Path, expected: &str) -> Result<LocalCopy> {
        if let Some(dir) = &self.dir {
            let path = dir.join(key);
            if !tokio::fs::try_exists(&path).await? {
                return Err(StorageError::NotFound(key.to_owned()));
            }
            if !expected.is_empty() {
                let actual = file_checksum(&path).await?;
                if actual != expected {
                    return Err(StorageError::Corrupt {
                        key: key.to_owned(),
                        actual,
                    });
                }
            }
            return Ok(LocalCopy {
                path,
                temporary: false,
            });
        }
        let got = self.inner.get(&self.key(key)).await?;
        if let Some(parent) = scratch.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let mut file = tokio::fs::File::create(scratch).await?;
        let copy = LocalCopy {
            path: scratch.to_owned(),
            temporary: true,
        };
        let mut hasher = Sha256::new();
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        let actual = hex::encode(hasher.finalize());
        if !expected.is_empty() && actual != expected {
            return Err(StorageError::Corrupt {
                key: key.to_owned(),
                actual,
            });
        }
        Ok(copy)
    }

    /// The sha256 of the object's bytes, read through.
    pub async fn checksum(&self, key: &str) -> Result<String> {
        let got = self.inner.get(&self.key(key)).await?;
        let mut hasher = Sha256::new();
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk?);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Bytes `range` of the object (a ranged GET), streamed.
    pub async fn range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let opts = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Default::default()
        };
        let got = self.inner.get_opts(&self.key(key), opts).await?;
        Ok(got
            .into_stream()
            .map(|c| c.map_err(StorageError::from))
            .boxed())
    }

    /// Deletes the object (gone already is fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&self.key(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A recording readable as a local file; a downloaded copy is removed when
/// dropped.
#[derive(Debug)]
pub struct LocalCopy {
    pub path: PathBuf,
    temporary: bool,
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The sha256 of a local file, read in blocks.
pub async fn file_checksum(path: &Path) -> Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The content-addressed key of a recording with sha256 `sha` whose bytes
/// start with `head` (`.mp3` or `.wav`, by content).
pub fn key_for(sha: &str, head: &[u8]) -> String {
    let ext = if crate::audio::wav::looks_like_mp3(head) {
        "mp3"
    } else {
        "wav"
    };
    format!("recordings/{}/{sha}.{ext}", &sha[..2.min(sha.len())])
}

/// The media type of a stored recording, by its key.
pub fn content_type(key: &str) -> &'static str {
    if key.ends_with(".mp3") {
        "audio/mpeg"
    } else {
        "audio/wav"
    }
}

#[cfg(test)]
mod tests {
    use super::Agreement;

    #[test]
    fn every_process_keeps_recordings_in_the_same_store() {
        assert_eq!(Agreement::of(None, None), Agreement::Agrees);
        assert_eq!(
            Agreement::of(None, Some("s3://kck/rec")),
            Agreement::Record("s3://kck/rec".into())
        );
        assert_eq!(
            Agreement::of(Some("s3://kck/rec"), Some("s3://kck/rec")),
            Agreement::Agrees
        );
        let conflict = Agreement::Conflict {
            recorded: "s3://kck/rec".into(),
        };
        assert_eq!(Agreement::of(Some("s3://kck/rec"), None), conflict);
        assert_eq!(
            Agreement::of(Some("s3://kck/rec"), Some("s3://other/rec")),
            conflict
        );
    }
}
