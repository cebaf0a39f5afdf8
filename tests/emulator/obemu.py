"""In-process AWS emulator for offsite-backup tests (moto 5.2.1 + shims).

Starts moto's server application in this process on 127.0.0.1 (a free port)
behind a small WSGI front end that adds what the daemon's tests need and moto
lacks.  Everything here is test-only; see README.md in this directory for the
list of shims, the reasons for them and what is *not* emulated.

    from obemu import Emulator
    with Emulator(copy_delay=0) as emu:
        rds = emu.client("rds", account="source")
        emu.inject("rds", "DescribeDBSnapshots", kind="throttle", count=2)
        ...
        emu.count("rds", "DescribeDBSnapshots", account="source")

Front end, in request order:

* ``/_ob/...``       control API (JSON in/out), never reaches moto;
* ``/latest/...``    an IMDSv2 emulation handing out real STS session
                     credentials of one of the two accounts;
* everything else    AWS requests: classified (account, service, action),
                     counted, possibly faulted, then handed to moto with IAM
                     authentication on from the very first request.

moto keeps its state in module globals, so only one Emulator can run per
process at a time; each start begins from an empty moto.
"""

from __future__ import annotations

import copy as _copy
import datetime as _dt
import http
import inspect
import io
import json
import logging
import os
import random
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import OrderedDict
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

# IAM authentication from request 0.  moto reads this at import time; the
# attribute is also forced below in case moto was imported earlier.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.config  # noqa: E402
import botocore.credentials  # noqa: E402
import botocore.session  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

from moto import settings as _moto_settings  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.iam import access_control as _iam_access_control  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.moto_api._internal.models import moto_api_backend  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)
from moto.rds import models as _rds_models  # noqa: E402
from moto.rds import responses as _rds_responses  # noqa: E402
from moto.rds.exceptions import RDSClientError  # noqa: E402
from moto.sns import models as _sns_models  # noqa: E402
from moto.sts.models import sts_backends  # noqa: E402

__all__ = ["Emulator", "ACCOUNTS", "DEFAULT_REGION", "EmulatorError"]

ACCOUNTS = OrderedDict([("source", "111111111111"), ("vault", "222222222222")])
DEFAULT_REGION = "eu-central-1"
ADMIN_USER = "offsite-backup-admin"
INSTANCE_ROLE = "offsite-backup-instance"
INSTANCE_ID = "i-0b0ff517eba0c0001"
CONTROL_PREFIX = "/_ob"

_ADMIN_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
)
_EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)

log = logging.getLogger("obemu")


class EmulatorError(Exception):
    """Misuse of the emulator (bad control request, second instance, ...)."""


def _utcnow() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def _iso(ts: _dt.datetime) -> str:
    return ts.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# moto patches (installed once per process, idempotent)
# ---------------------------------------------------------------------------

_tls = threading.local()  # per request thread: raw body for the signature shim


class _CopyClock:
    """Copy delay shared by the RDS patches (moto state is global too)."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.lock = threading.Lock()
        self.in_flight: list[Any] = []  # snapshots with a running copy timer

    def start(self, snapshot: Any) -> None:
        with self.lock:
            self.in_flight = [s for s in self.in_flight if _copy_progress(s)[0]]
            if self.delay > 0:
                snapshot.__dict__["_ob_copy"] = [time.monotonic(), float(self.delay)]
                self.in_flight.append(snapshot)

    def complete_all(self) -> int:
        with self.lock:
            n = 0
            for snap in self.in_flight:
                timer = snap.__dict__.get("_ob_copy")
                if timer and time.monotonic() - timer[0] < timer[1]:
                    timer[1] = 0.0
                    n += 1
            self.in_flight = []
            return n

    def reset(self, delay: float) -> None:
        with self.lock:
            self.delay = float(delay)
            self.in_flight = []


_COPIES = _CopyClock()
_PATCHED = False
_PATCH_LOCK = threading.Lock()
_SNS_LOCK = threading.RLock()


def _copy_progress(snapshot: Any) -> tuple[bool, int]:
    """(still copying, percent) for a snapshot; copies without timer are done."""
    timer = snapshot.__dict__.get("_ob_copy")
    if not timer:
        return False, 100
    started, duration = timer
    elapsed = time.monotonic() - started
    if duration <= 0 or elapsed >= duration:
        return False, 100
    return True, max(0, min(99, int(100 * elapsed / duration)))


def _status_get(self: Any) -> str:
    copying, _ = _copy_progress(self)
    if copying:
        return "creating"
    return self.__dict__.get("_ob_status", "available")


def _status_set(self: Any, value: str) -> None:
    self.__dict__["_ob_status"] = value


def _progress_get(self: Any) -> int:
    return _copy_progress(self)[1]


def _progress_set(self: Any, value: int) -> None:  # moto sets 100; derived instead
    pass


def _install_patches() -> None:
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        _patch_auth()
        _patch_rds()
        _patch_sns()
        _patch_rds_quotas()  # alerts: see its section
        _patch_speed()
        _patch_exports()  # S3 export section
        _PATCHED = True


def _patch_speed() -> None:
    """Not a behaviour change: moto's EventBridge builds ~8 jsonpath parsers
    (ply yacc tables) for every event it delivers to a target, about 0.1 s
    of CPU each time, under the GIL of the process that also serves the
    daemon. The paths are constant and parsed expressions are not mutated
    by find(), so caching them gives the same results, fast."""
    import functools

    import jsonpath_ng.ext

    if not hasattr(jsonpath_ng.ext.parse, "cache_info"):
        jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


def _patch_auth() -> None:
    """IAM auth on from request 0; signatures over the body bytes as sent.

    moto recomputes SigV4 over a *re-encoded* form body (Flask parses
    application/x-www-form-urlencoded and moto urlencodes the dict again), so
    a valid request whose body is not byte-identical to Python's urlencode
    (e.g. '%20' for a space, an unescaped ':') is refused with
    SignatureDoesNotMatch although AWS accepts it.  The front end stores the
    raw bytes per request thread; the patched request builder signs those.
    """
    _moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0

    base = _iam_access_control.IAMRequestBase
    orig = base._create_aws_request

    def _create_aws_request(self: Any) -> Any:
        request = orig(self)
        raw = getattr(_tls, "raw_body", None)
        if raw is not None and self._method not in ("GET", "HEAD"):
            request.data = raw
        return request

    base._create_aws_request = _create_aws_request


def _snapshot_kind(resource_type: Any) -> tuple[str, Any, str]:
    if resource_type is _rds_models.DBClusterSnapshot:
        return "cluster-snapshot", _rds_models.DBClusterSnapshotNotFoundError, "InvalidDBClusterSnapshotStateFault"
    return "snapshot", _rds_models.DBSnapshotNotFoundFault, "InvalidDBSnapshotStateFault"


def _patch_rds() -> None:
    backend_cls = _rds_models.RDSBackend
    rds_backends = _rds_models.rds_backends

    # -- copy delay: status / PercentProgress derived from a per-copy timer.
    for cls in (_rds_models.DBSnapshot, _rds_models.DBClusterSnapshot):
        cls.status = property(_status_get, _status_set)
        cls.percent_progress = property(_progress_get, _progress_set)

    # -- snapshot identifiers: the snapshot-id filters also match the ARN, so
    #    DescribeDB*Snapshots(DB*SnapshotIdentifier=<ARN>) works like on AWS.
    db_filters = _rds_models.DBSnapshot.SUPPORTED_FILTERS
    db_filters["db-snapshot-id"] = _rds_models.FilterDef(
        ["db_snapshot_arn", "db_snapshot_identifier"],
        "DB Snapshot Identifiers",
        case_insensitive=True,
    )
    cl_filters = _rds_models.DBClusterSnapshot.SUPPORTED_FILTERS
    cl_filters["db-cluster-snapshot-id"] = _rds_models.FilterDef(
        ["db_cluster_snapshot_arn", "db_cluster_snapshot_identifier"],
        "DB Cluster Snapshot Identifiers",
        case_insensitive=True,
    )

    # -- gap (a): a snapshot ARN resolves in the ARN's account, and another
    #    account's snapshot is visible only when shared with the caller.
    def get_snapshot(self: Any, identifier: str, resource_type: Any, not_found_exception: Any) -> Any:
        kind, _, _ = _snapshot_kind(resource_type)
        account, region, name = self.account_id, self.region_name, identifier
        if identifier.startswith("arn:"):
            parts = identifier.split(":", 6)
            if len(parts) != 7 or parts[2] != "rds" or parts[5] != kind:
                raise not_found_exception(identifier)
            region, account, name = parts[3], parts[4], parts[6]
        snapshots = rds_backends[account][region].resource_map[resource_type]
        snapshot = snapshots.get(name)
        if snapshot is None:
            snapshot = next(
                (s for key, s in snapshots.items() if key.lower() == name.lower()), None
            )
        if snapshot is None:
            raise not_found_exception(identifier)
        if account != self.account_id:
            restore = snapshot.attributes.get("restore", [])
            shared = self.account_id in restore or "all" in restore
            if not shared or snapshot.snapshot_type != "manual":
                raise not_found_exception(identifier)
        return snapshot

    backend_cls.get_snapshot = get_snapshot

    # -- copies: the source must be available; the copy starts its timer.
    def wrap_copy(orig: Callable[..., Any], resource_type: Any, source_key: str) -> Callable[..., Any]:
        _, _, state_fault = _snapshot_kind(resource_type)

        def copy_snapshot(self: Any, *args: Any, **kwargs: Any) -> Any:
            source_id = kwargs.get(source_key, args[0] if args else None)
            if source_id:
                source = get_snapshot(self, source_id, resource_type, _snapshot_kind(resource_type)[1])
                if source.status != "available":
                    raise RDSClientError(
                        state_fault,
                        f"Snapshot {source_id} is not in available state (status: {source.status}).",
                    )
            snapshot = orig(self, *args, **kwargs)
            _COPIES.start(snapshot)
            return snapshot

        copy_snapshot.__wrapped__ = orig  # type: ignore[attr-defined]
        return copy_snapshot

    backend_cls.copy_db_snapshot = wrap_copy(
        backend_cls.copy_db_snapshot, _rds_models.DBSnapshot, "source_db_snapshot_identifier"
    )
    backend_cls.copy_db_cluster_snapshot = wrap_copy(
        backend_cls.copy_db_cluster_snapshot,
        _rds_models.DBClusterSnapshot,
        "source_db_cluster_snapshot_identifier",
    )

    # -- sharing a snapshot that is still being created is refused (AWS does).
    def wrap_modify(orig: Callable[..., Any], describe: str, fault: str, id_key: str) -> Callable[..., Any]:
        def modify(self: Any, *args: Any, **kwargs: Any) -> Any:
            identifier = kwargs.get(id_key, args[0] if args else None)
            snapshot = getattr(self, describe)(None, identifier)[0]
            if snapshot.status != "available":
                raise RDSClientError(
                    fault, f"Snapshot {identifier} is not in available state (status: {snapshot.status})."
                )
            return orig(self, *args, **kwargs)

        modify.__wrapped__ = orig  # type: ignore[attr-defined]
        return modify

    backend_cls.modify_db_snapshot_attribute = wrap_modify(
        backend_cls.modify_db_snapshot_attribute, "describe_db_snapshots", "InvalidDBSnapshotStateFault",
        "db_snapshot_identifier",
    )
    backend_cls.modify_db_cluster_snapshot_attribute = wrap_modify(
        backend_cls.modify_db_cluster_snapshot_attribute,
        "describe_db_cluster_snapshots",
        "InvalidDBClusterSnapshotStateFault",
        "db_cluster_snapshot_identifier",
    )

    # -- describe: IncludeShared, and SnapshotType=shared honouring the
    #    identifier and filters (moto ignores IncludeShared and returns every
    #    shared snapshot for SnapshotType=shared whatever else was asked).
    def wrap_describe(
        orig: Callable[..., Any], resource_type: Any, id_filter: str, parent_filter: str, shared_fn: str
    ) -> Callable[..., Any]:
        _, not_found, _ = _snapshot_kind(resource_type)

        signature = inspect.signature(orig)

        def describe(self: Any, *args: Any, include_shared: bool = False, **kwargs: Any) -> list[Any]:
            # moto calls these positionally and by keyword; bind to its names
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            parent_identifier, snapshot_identifier, snapshot_type, filters = list(bound.arguments.values())[1:5]
            results: list[Any] = []
            if snapshot_type != "shared":
                try:
                    results = list(
                        orig(self, parent_identifier, snapshot_identifier, snapshot_type, _copy.deepcopy(filters))
                    )
                except not_found:
                    results = []
            if snapshot_type == "shared" or (include_shared and snapshot_type is None):
                shared = OrderedDict((s.arn, s) for s in getattr(self, shared_fn)())
                wanted = _copy.deepcopy(filters) or {}
                if parent_identifier:
                    wanted.setdefault(parent_filter, []).append(parent_identifier)
                if snapshot_identifier:
                    wanted.setdefault(id_filter, []).append(snapshot_identifier)
                if wanted:
                    shared = self._filter_resources(shared, wanted, resource_type)
                results += [s for s in shared.values() if s not in results]
            if snapshot_identifier and not results:
                raise not_found(snapshot_identifier)
            return results

        describe.__wrapped__ = orig  # type: ignore[attr-defined]
        return describe

    backend_cls.describe_db_snapshots = wrap_describe(
        backend_cls.describe_db_snapshots,
        _rds_models.DBSnapshot,
        "db-snapshot-id",
        "db-instance-id",
        "get_shared_db_snapshots",
    )
    backend_cls.describe_db_cluster_snapshots = wrap_describe(
        backend_cls.describe_db_cluster_snapshots,
        _rds_models.DBClusterSnapshot,
        "db-cluster-snapshot-id",
        "db-cluster-id",
        "get_shared_db_cluster_snapshots",
    )

    def _flag(value: Any) -> bool:
        return value is True or str(value).lower() == "true"

    def resp_describe_db_snapshots(self: Any) -> Any:
        filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}
        snapshots = self.backend.describe_db_snapshots(
            self.params.get("DBInstanceIdentifier"),
            self.params.get("DBSnapshotIdentifier"),
            self.params.get("SnapshotType"),
            filters,
            include_shared=_flag(self.params.get("IncludeShared")),
        )
        return _rds_responses.ActionResult({"DBSnapshots": snapshots})

    def resp_describe_db_cluster_snapshots(self: Any) -> Any:
        filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}
        snapshots = self.backend.describe_db_cluster_snapshots(
            self.params.get("DBClusterIdentifier"),
            self.params.get("DBClusterSnapshotIdentifier"),
            self.params.get("SnapshotType"),
            filters,
            include_shared=_flag(self.params.get("IncludeShared")),
        )
        return _rds_responses.ActionResult({"DBClusterSnapshots": snapshots})

    _rds_responses.RDSResponse.describe_db_snapshots = resp_describe_db_snapshots
    _rds_responses.RDSResponse.describe_db_cluster_snapshots = resp_describe_db_cluster_snapshots


def _patch_sns() -> None:
    """Gap (b): SNS -> SQS delivery across accounts.

    moto delivers a topic's SQS message into the *subscriber's* account
    (``sqs_backends[subscription.account_id]``), so a queue in another
    account than the one that called Subscribe never receives anything
    (Publish even fails with NonExistentQueue).  And a subscription made by
    the queue's owner on another account's topic is stored in the queue
    owner's SNS backend, where the topic's Publish never looks.  Patched:
    delivery goes to the account in the queue ARN, and a cross-account
    subscription is also registered with the topic owner's backend.
    """
    sub_cls = _sns_models.Subscription
    orig_publish = sub_cls.publish

    def publish(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.protocol != "sqs":
            return orig_publish(self, *args, **kwargs)
        parts = self.endpoint.split(":")
        queue_account = parts[4] if len(parts) > 5 else self.account_id
        with _SNS_LOCK:  # account_id is swapped only for the delivery
            saved = self.account_id
            self.account_id = queue_account
            try:
                return orig_publish(self, *args, **kwargs)
            finally:
                self.account_id = saved

    sub_cls.publish = publish

    backend_cls = _sns_models.SNSBackend
    orig_subscribe = backend_cls.subscribe
    orig_unsubscribe = backend_cls.unsubscribe

    def subscribe(self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
        subscription = orig_subscribe(self, topic_arn, endpoint, protocol)
        owner = subscription.topic.sns_backend
        if owner is not self:
            owner.subscriptions[subscription.arn] = subscription
        return subscription

    def unsubscribe(self: Any, subscription_arn: str) -> None:
        parts = subscription_arn.split(":")
        if len(parts) > 5 and parts[4] != self.account_id:
            owner = _sns_models.sns_backends[parts[4]][self.region_name]
            owner.subscriptions.pop(subscription_arn, None)
        orig_unsubscribe(self, subscription_arn)

    backend_cls.subscribe = subscribe
    backend_cls.unsubscribe = unsubscribe


# ---------------------------------------------------------------------------
# alerts: RDS DescribeAccountAttributes (the manual snapshot quotas)
# ---------------------------------------------------------------------------
# Gap (alerts): moto 5.2.1 has no DescribeAccountAttributes.  The daemon reads
# the ManualSnapshots / ManualClusterSnapshots quotas with it to alert at 90 %.
# Answered here: Used = the caller's manual snapshots of that kind in the
# region (moto's own view), Max = a value the test sets (default 100) with
# Emulator.set_rds_quota_max() or POST /_ob/rds-quotas {"ManualSnapshots": 10}.
# Other quotas are not listed.

RDS_QUOTA_DEFAULT_MAX = 100
_RDS_QUOTA_MAX: dict[str, int] = {}  # name -> Max; absent = the default
_RDS_QUOTA_NAMES = ("ManualSnapshots", "ManualClusterSnapshots")


def _patch_rds_quotas() -> None:
    def describe_account_attributes(self: Any) -> Any:
        backend = self.backend
        used = {
            "ManualSnapshots": sum(1 for s in list(backend.database_snapshots.values())
                                   if s.snapshot_type == "manual"),
            "ManualClusterSnapshots": sum(1 for s in list(backend.cluster_snapshots.values())
                                          if s.snapshot_type == "manual"),
        }
        quotas = [{"AccountQuotaName": name, "Used": used[name],
                   "Max": _RDS_QUOTA_MAX.get(name, RDS_QUOTA_DEFAULT_MAX)} for name in _RDS_QUOTA_NAMES]
        return _rds_responses.ActionResult({"AccountQuotas": quotas})

    _rds_responses.RDSResponse.describe_account_attributes = describe_account_attributes


def set_rds_quota_max(values: dict[str, Any]) -> dict[str, int]:
    """Set Max of the named quotas ("ManualSnapshots", "ManualClusterSnapshots",
    or "*" for both); None resets one to the default.  Returns the table."""
    for name, value in values.items():
        names = _RDS_QUOTA_NAMES if name == "*" else (name,)
        if name != "*" and name not in _RDS_QUOTA_NAMES:
            raise EmulatorError(f"unknown RDS quota {name!r} (known: {', '.join(_RDS_QUOTA_NAMES)}, *)")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise EmulatorError(f"quota {name}: Max must be an integer >= 0")
        for n in names:
            if value is None:
                _RDS_QUOTA_MAX.pop(n, None)
            else:
                _RDS_QUOTA_MAX[n] = value
    return {n: _RDS_QUOTA_MAX.get(n, RDS_QUOTA_DEFAULT_MAX) for n in _RDS_QUOTA_NAMES}


# ---------------------------------------------------------------------------
# request classification and protocol-correct errors
# ---------------------------------------------------------------------------

_CRED_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_xmlns_cache: dict[str, str | None] = {}
_botocore_session = botocore.session.get_session()

_THROTTLE_CODE = {"query": "Throttling", "ec2": "RequestLimitExceeded", "json": "ThrottlingException"}
_SERVICE_THROTTLE_CODE = {"sqs": "RequestThrottled"}


class RequestInfo:
    """What the front end knows about one AWS request."""

    __slots__ = ("service", "action", "account", "access_key", "region", "protocol", "target",
                 "user_agent")

    def __init__(self) -> None:
        self.service = "unknown"
        self.action = "unknown"
        self.account = "unknown"
        self.access_key = ""
        self.region = ""
        self.protocol = "query"  # query | json | ec2 | imds
        self.target = ""
        self.user_agent = ""

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__slots__}


def _xml_namespace(service: str) -> str | None:
    if service not in _xmlns_cache:
        try:
            model = _botocore_session.get_service_model(service)
            _xmlns_cache[service] = model.metadata.get("xmlNamespace")
        except Exception:  # unknown to botocore
            _xmlns_cache[service] = None
    return _xmlns_cache[service]


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


Response = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


def render_error(info: RequestInfo, code: str, message: str, status: int,
                 fault_type: str | None = None) -> Response:
    """A protocol-correct AWS error response for the request's service."""
    request_id = str(uuid.uuid4())
    fault_type = fault_type or ("Receiver" if status >= 500 else "Sender")
    headers = [("x-amzn-RequestId", request_id)]
    if info.protocol == "imds":
        body = (message or http.HTTPStatus(status).phrase).encode()
        return status, [("Content-Type", "text/plain")], body
    if info.protocol == "json":
        if info.service == "sqs":  # awsQueryCompatible JSON 1.0
            type_name = f"com.amazonaws.sqs#{code}"
            headers.append(("x-amzn-query-error", f"{code};{fault_type}"))
        else:
            type_name = code
        ctype = "application/x-amz-json-1.0" if info.service == "sqs" else "application/x-amz-json-1.1"
        headers += [("Content-Type", ctype), ("x-amzn-ErrorType", code)]
        body = json.dumps({"__type": type_name, "message": message}).encode()
        return status, headers, body
    headers.append(("Content-Type", "text/xml"))
    if info.protocol == "ec2":
        body = (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
            f"<Code>{_xml_escape(code)}</Code><Message>{_xml_escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        return status, headers, body
    ns = _xml_namespace(info.service)
    open_tag = f'<ErrorResponse xmlns="{ns}">' if ns else "<ErrorResponse>"
    body = (
        f"{open_tag}<Error><Type>{fault_type}</Type><Code>{_xml_escape(code)}</Code>"
        f"<Message>{_xml_escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, headers, body


# ---------------------------------------------------------------------------
# fault injection and counters
# ---------------------------------------------------------------------------

FAULT_KINDS = ("throttle", "error500", "error503", "error", "drop", "stall", "truncate")


class FaultRule:
    """One injected fault.  Matches (service, action, account, and, when
    ``agent`` is given, a User-Agent containing it); fires on the
    next ``count`` matching calls after ``skip``, or with ``probability``
    (seeded) until ``count`` fires if a count is also given."""

    _ids = 0

    def __init__(self, spec: dict[str, Any], resolve_account: Callable[[str], str]) -> None:
        unknown = set(spec) - {
            "service", "action", "account", "kind", "count", "probability", "seed",
            "skip", "when", "seconds", "code", "status", "message", "type", "bytes", "agent",
        }
        if unknown:
            raise EmulatorError(f"unknown fault fields: {sorted(unknown)}")
        self.service = str(spec.get("service", "*")).lower()
        self.action = str(spec.get("action") or "*")
        account = spec.get("account")
        self.account = resolve_account(account) if account else "*"
        # A case-insensitive substring of the request's User-Agent (e.g.
        # "offsite-backup/" to fault only the daemons, never a test's boto3).
        self.agent = str(spec.get("agent") or "").lower()
        self.kind = spec.get("kind", "throttle")
        if self.kind not in FAULT_KINDS:
            raise EmulatorError(f"kind must be one of {FAULT_KINDS}")
        self.probability = spec.get("probability")
        if self.probability is not None:
            self.probability = float(self.probability)
            if not 0.0 <= self.probability <= 1.0:
                raise EmulatorError("probability must be within [0, 1]")
        count = spec.get("count", None if self.probability is not None else 1)
        self.remaining = None if count is None else int(count)
        self.rng = random.Random(spec.get("seed"))
        self.skip = int(spec.get("skip", 0))
        self.when = spec.get("when", "before")
        if self.when not in ("before", "after"):
            raise EmulatorError("when must be 'before' or 'after'")
        self.seconds = float(spec.get("seconds", 5.0))
        self.code = spec.get("code")
        self.status = spec.get("status")
        self.message = spec.get("message")
        self.type = spec.get("type")
        self.bytes = spec.get("bytes")
        if self.kind == "error" and not (self.code and self.status):
            raise EmulatorError("kind 'error' needs code and status")
        FaultRule._ids += 1
        self.id = FaultRule._ids
        self.matched = 0
        self.fired = 0

    def matches(self, info: RequestInfo) -> bool:
        return (
            self.service in ("*", info.service)
            and self.action in ("*", info.action)
            and self.account in ("*", info.account)
            and (not self.agent or self.agent in info.user_agent.lower())
        )

    def try_fire(self) -> bool:
        """Called with the table lock held for a matching request."""
        self.matched += 1
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.probability is not None and self.rng.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        self.fired += 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "service": self.service, "action": self.action,
            "account": self.account, "kind": self.kind, "remaining": self.remaining,
            "probability": self.probability, "skip": self.skip, "when": self.when,
            "seconds": self.seconds, "code": self.code, "status": self.status,
            "message": self.message, "type": self.type, "bytes": self.bytes,
            "agent": self.agent or None, "matched": self.matched, "fired": self.fired,
        }

    def error(self, info: RequestInfo) -> tuple[str, str, int, str | None]:
        """(code, message, status, type) for the error kinds."""
        if self.kind == "throttle":
            code = (self.code or _SERVICE_THROTTLE_CODE.get(info.service)
                    or _THROTTLE_CODE.get(info.protocol, "Throttling"))
            if info.protocol == "imds":
                return code, "Too Many Requests", int(self.status or 429), None
            status = int(self.status or (503 if info.protocol == "ec2" else 400))
            return code, self.message or "Rate exceeded", status, self.type or "Sender"
        if self.kind == "error500":
            return (self.code or "InternalFailure", self.message or "An internal error has occurred.",
                    int(self.status or 500), self.type or "Receiver")
        if self.kind == "error503":
            return (self.code or "ServiceUnavailable", self.message or "Service is unavailable. Please try again later.",
                    int(self.status or 503), self.type or "Receiver")
        return str(self.code), self.message or f"Injected {self.code}", int(self.status), self.type


class FaultTable:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> int:
        with self.lock:
            self.rules.append(rule)
        return rule.id

    def pick(self, info: RequestInfo) -> FaultRule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(info) and rule.try_fire():
                    return rule
        return None

    def list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.as_dict() for r in self.rules]

    def remove(self, rule_id: int | None = None) -> int:
        with self.lock:
            before = len(self.rules)
            self.rules = [] if rule_id is None else [r for r in self.rules if r.id != rule_id]
            return before - len(self.rules)


# Parameters the call journal keeps for RDS calls (the snapshot a call is about).
_JOURNAL_RDS_KEYS = (
    "SourceDBSnapshotIdentifier", "SourceDBClusterSnapshotIdentifier",
    "TargetDBSnapshotIdentifier", "TargetDBClusterSnapshotIdentifier",
    "DBSnapshotIdentifier", "DBClusterSnapshotIdentifier",
)
JOURNAL_MAX = 200000  # entries kept; later calls are still counted, not journalled


def _journal_params(info: RequestInfo, environ: dict[str, Any], body: bytes) -> dict[str, Any] | None:
    """The few identifying parameters the call journal records: for RDS the
    snapshot identifiers above, for events:PutEvents the number of entries
    and their Resources.  Only those two are parsed (keeps it cheap)."""
    if info.service == "rds":
        raw = body.decode("utf-8", "replace") if body else environ.get("QUERY_STRING", "")
        if "SnapshotIdentifier" not in raw:
            return None
        form = parse_qs(raw)
        params = {k: form[k][0] for k in _JOURNAL_RDS_KEYS if k in form}
        return params or None
    if info.service == "events" and info.action == "PutEvents":
        try:
            doc = json.loads(body or b"{}")
            entries = doc.get("Entries") or []
            resources = [r for e in entries if isinstance(e, dict)
                         for r in (e.get("Resources") or []) if isinstance(r, str)]
            return {"entries": len(entries), "resources": resources}
        except (ValueError, AttributeError):
            return {"entries": 0, "resources": []}
    return None


class Counters:
    """Requests per (account, service, action), faulted ones included, and
    the call journal: one entry per counted call, in arrival order,
    ``{"time": time.time(), "account", "service", "action", "faulted",
    "params": {...}}`` (params only for the calls _journal_params knows)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[tuple[str, str, str], list[int]] = {}
        self.entries: list[tuple[float, str, str, str, bool, dict[str, Any] | None]] = []
        self.dropped = 0

    def add(self, info: RequestInfo, faulted: bool, params: dict[str, Any] | None = None) -> None:
        key = (info.account, info.service, info.action)
        now = time.time()
        with self.lock:
            entry = self.calls.setdefault(key, [0, 0])
            entry[0] += 1
            if faulted:
                entry[1] += 1
            if len(self.entries) < JOURNAL_MAX:
                self.entries.append((now, info.account, info.service, info.action, faulted, params))
            else:
                self.dropped += 1

    def journal(self, account: str = "*", service: str = "*", action: str = "*",
                since: float | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.entries)
        return [
            {"time": t, "account": a, "service": s, "action": x, "faulted": f, "params": dict(p or {})}
            for (t, a, s, x, f, p) in items
            if account in ("*", a) and service in ("*", s) and action in ("*", x)
            and (since is None or t >= since)
        ]

    def query(self, account: str = "*", service: str = "*", action: str = "*") -> list[dict[str, Any]]:
        with self.lock:
            items = sorted(self.calls.items())
        return [
            {"account": a, "service": s, "action": x, "count": c[0], "faulted": c[1]}
            for (a, s, x), c in items
            if account in ("*", a) and service in ("*", s) and action in ("*", x)
        ]

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.entries = []
            self.dropped = 0


# ---------------------------------------------------------------------------
# IMDSv2
# ---------------------------------------------------------------------------


class Imds:
    """IMDSv2 (tokens required) serving STS session credentials of one account.

    Credentials come from sts:AssumeRole on ``offsite-backup-instance`` in the
    chosen account, done in-process (like EC2 does for an instance profile),
    so they are ASIA... keys with a session token that moto's IAM auth
    accepts.  ``ttl`` forces a short lifetime: new credentials are handed out
    once less than half of it remains (AWS: at least 5 minutes before expiry),
    and with ``enforce_expiry`` requests signed with expired IMDS credentials
    are refused with ExpiredToken (moto itself never expires credentials).
    """

    DEFAULT_LIFETIME = 6 * 3600

    def __init__(self, emu: "Emulator", account: str = "source", ttl: float | None = None) -> None:
        self.emu = emu
        self.lock = threading.Lock()
        self.account = account
        self.ttl = ttl
        self.enforce_expiry = True
        self.tokens: dict[str, float] = {}
        self.creds: dict[str, Any] | None = None
        self.issued: dict[str, _dt.datetime] = {}

    # -- state -----------------------------------------------------------
    def configure(self, account: str | None = None, ttl: Any = "keep", enforce_expiry: bool | None = None,
                  rotate: bool = False) -> dict[str, Any]:
        with self.lock:
            if account is not None:
                if account not in ACCOUNTS:
                    raise EmulatorError(f"imds account must be one of {list(ACCOUNTS)}")
                if account != self.account:
                    self.creds = None
                self.account = account
            if ttl != "keep":
                self.ttl = None if ttl in (None, 0) else float(ttl)
                self.creds = None
            if enforce_expiry is not None:
                self.enforce_expiry = bool(enforce_expiry)
            if rotate:
                self.creds = None
        return self.state()

    def state(self) -> dict[str, Any]:
        creds = self.creds
        return {
            "account": self.account,
            "account_id": ACCOUNTS[self.account],
            "role": INSTANCE_ROLE,
            "ttl": self.ttl,
            "enforce_expiry": self.enforce_expiry,
            "access_key_id": creds["AccessKeyId"] if creds else None,
            "expiration": creds["Expiration"] if creds else None,
        }

    def reset(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.creds = None
            self.issued.clear()

    def credentials(self) -> dict[str, Any]:
        with self.lock:
            now = _utcnow()
            lifetime = self.ttl or self.DEFAULT_LIFETIME
            margin = min(300.0, lifetime / 2)
            if self.creds is None or now >= self.creds["_expires"] - _dt.timedelta(seconds=margin):
                self.creds = self._mint(now, lifetime)
            return {k: v for k, v in self.creds.items() if not k.startswith("_")}

    def _mint(self, now: _dt.datetime, lifetime: float) -> dict[str, Any]:
        account_id = ACCOUNTS[self.account]
        role_arn = f"arn:aws:iam::{account_id}:role/{INSTANCE_ROLE}"
        assumed = sts_backends[account_id]["aws"].assume_role(
            region_name=self.emu.region,
            role_session_name=INSTANCE_ID,
            role_arn=role_arn,
            policy=None,
            duration=max(900, int(lifetime)),
            external_id=None,
        )
        expires = now + _dt.timedelta(seconds=lifetime)
        self.issued[assumed.access_key_id] = expires
        return {
            "Code": "Success",
            "LastUpdated": _iso(now),
            "Type": "AWS-HMAC",
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "Token": assumed.session_token,
            "Expiration": _iso(expires),
            "_expires": expires,
        }

    def is_expired(self, access_key: str) -> bool:
        expires = self.issued.get(access_key)
        return bool(self.enforce_expiry and expires is not None and _utcnow() >= expires)

    # -- HTTP ------------------------------------------------------------
    def classify(self, environ: dict[str, Any]) -> RequestInfo:
        info = RequestInfo()
        info.protocol = "imds"
        info.service = "imds"
        info.user_agent = environ.get("HTTP_USER_AGENT", "")
        info.account = ACCOUNTS[self.account]
        path = environ.get("PATH_INFO", "")
        if path.startswith("/latest/api/token"):
            info.action = "token"
        elif path.rstrip("/") == "/latest/meta-data/iam/security-credentials":
            info.action = "role"
        elif path.startswith("/latest/meta-data/iam/security-credentials/"):
            info.action = "credentials"
        elif path.startswith("/latest/dynamic/instance-identity"):
            info.action = "identity"
        else:
            info.action = "metadata"
        return info

    def handle(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        text = [("Content-Type", "text/plain"), ("Server", "EC2ws")]
        if path == "/latest/api/token":
            if method != "PUT":
                return 405, text, b"Method Not Allowed"
            if environ.get("HTTP_X_FORWARDED_FOR"):
                return 403, text, b"Forbidden"
            try:
                ttl = int(environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS", ""))
            except ValueError:
                return 400, text, b"Bad Request"
            if not 1 <= ttl <= 21600:
                return 400, text, b"Bad Request"
            token = secrets.token_urlsafe(42)
            with self.lock:
                now = time.monotonic()
                self.tokens = {t: e for t, e in self.tokens.items() if e > now}
                self.tokens[token] = now + ttl
            return 200, text + [("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))], token.encode()
        if method not in ("GET", "HEAD"):
            return 405, text, b"Method Not Allowed"
        token = environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN")
        with self.lock:
            valid = token is not None and self.tokens.get(token, 0) > time.monotonic()
        if not valid:
            return 401, text, b"Unauthorized"
        account_id = ACCOUNTS[self.account]
        region = self.emu.region
        if path.rstrip("/") == "/latest/meta-data/iam/security-credentials":
            return 200, text, INSTANCE_ROLE.encode()
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if role != INSTANCE_ROLE:
                return 404, text, b"Not Found"
            return 200, text, json.dumps(self.credentials(), indent=2).encode()
        simple = {
            "/latest/meta-data/instance-id": INSTANCE_ID,
            "/latest/meta-data/placement/region": region,
            "/latest/meta-data/placement/availability-zone": region + "a",
            "/latest/meta-data/iam/info": json.dumps(
                {
                    "Code": "Success",
                    "LastUpdated": _iso(_utcnow()),
                    "InstanceProfileArn": f"arn:aws:iam::{account_id}:instance-profile/{INSTANCE_ROLE}",
                    "InstanceProfileId": "AIPAOBEMU0000000000001",
                },
                indent=2,
            ),
            "/latest/dynamic/instance-identity/document": json.dumps(
                {
                    "accountId": account_id,
                    "architecture": "x86_64",
                    "availabilityZone": region + "a",
                    "imageId": "ami-0b0ff517eba0c0001",
                    "instanceId": INSTANCE_ID,
                    "instanceType": "t3.small",
                    "pendingTime": "2026-01-01T00:00:00Z",
                    "privateIp": "10.0.0.10",
                    "region": region,
                    "version": "2017-09-30",
                },
                indent=2,
            ),
        }
        if path in simple:
            return 200, text, simple[path].encode()
        return 404, text, b"Not Found"


# ---------------------------------------------------------------------------
# the WSGI front end
# ---------------------------------------------------------------------------


class _Abort(ConnectionAbortedError):
    """Raised after shutting the client socket down: werkzeug then treats the
    request as a dropped connection and writes nothing."""


def _abort_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise _Abort("connection dropped by fault injection")


class _FrontEnd:
    def __init__(self, emu: "Emulator") -> None:
        self.emu = emu
        self.moto_app = DomainDispatcherApplication(create_backend_app)

    # -- dispatch --------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._respond(start_response, *self.emu._control(environ))
        if path.startswith("/latest/"):
            return self._imds(environ, start_response)
        if path.rstrip("/") == "/moto-api/reset":
            # moto's own reset would also delete the bootstrapped accounts.
            self.emu.reset()
            return self._respond(start_response, 200, [("Content-Type", "application/json")], b'{"status": "ok"}')
        try:
            return self._aws(environ, start_response)
        except _Abort:
            raise
        except Exception:  # a bug in the front end or a shim: say so, in protocol
            log.exception("obemu: internal error on %s", path)
            info = RequestInfo()
            if environ.get("HTTP_X_AMZ_TARGET"):
                info.protocol = "json"
            return self._respond(start_response, *render_error(
                info, "InternalFailure", "obemu front end error (see emulator log)", 500))

    @staticmethod
    def _respond(start_response: Callable[..., Any], status: int, headers: list[tuple[str, str]],
                 body: bytes) -> list[bytes]:
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)
        return [body]

    def _stall(self, seconds: float) -> None:
        self.emu._stopping.wait(seconds)

    # -- IMDS ------------------------------------------------------------
    def _imds(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        imds = self.emu.imds
        info = imds.classify(environ)
        rule = self.emu.faults.pick(info)
        self.emu.counters.add(info, rule is not None)
        if rule is not None:
            if rule.kind == "stall":
                self._stall(rule.seconds)
            elif rule.kind == "drop":
                _abort_connection(environ)
            elif rule.kind != "truncate":
                code, message, status, _ = rule.error(info)
                return self._respond(start_response, *render_error(info, code, message, status))
        status, headers, body = imds.handle(environ)
        if rule is not None and rule.kind == "truncate":
            return self._truncated(environ, start_response, status, headers, body, rule)
        return self._respond(start_response, status, headers, body)

    # -- AWS -------------------------------------------------------------
    def _read_body(self, environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0:
            body = stream.read(length)
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return body

    def _classify(self, environ: dict[str, Any], body: bytes) -> RequestInfo:
        info = RequestInfo()
        info.user_agent = environ.get("HTTP_USER_AGENT", "")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        match = _CRED_RE.search(auth)
        if not match and "X-Amz-Credential" in query:
            match = _CRED_RE.search("Credential=" + query["X-Amz-Credential"][0])
        if match:
            info.access_key, _, info.region, service = match.groups()
            info.service = service.lower()
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            info.protocol = "json"
            info.target = target
            info.action = target.rsplit(".", 1)[-1]
        else:
            action = query.get("Action")
            ctype = environ.get("CONTENT_TYPE", "")
            if not action and body and ctype.startswith("application/x-www-form-urlencoded"):
                action = parse_qs(body.decode("utf-8", "replace")).get("Action")
            if action:
                info.action = action[0]
            else:  # REST services (S3, ...): counted per HTTP method
                info.action = environ.get("REQUEST_METHOD", "unknown")
            if info.service == "ec2":
                info.protocol = "ec2"
        explicit = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        info.account = explicit or self.emu._account_of_key(info.access_key)
        return info

    def _clock_skew_error(self, environ: dict[str, Any]) -> str | None:
        """AWS refuses a SigV4 request whose X-Amz-Date is more than 15 minutes
        off; moto does not check the date at all."""
        stamp = environ.get("HTTP_X_AMZ_DATE")
        if not stamp or not environ.get("HTTP_AUTHORIZATION") or self.emu.max_clock_skew is None:
            return None
        try:
            signed = _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc)
        except ValueError:
            return f"Invalid X-Amz-Date: {stamp}"
        now = _dt.datetime.now(_dt.timezone.utc)
        skew = _dt.timedelta(seconds=self.emu.max_clock_skew)
        fmt = "%Y%m%dT%H%M%SZ"
        if signed < now - skew:
            return (f"Signature expired: {stamp} is now earlier than {(now - skew).strftime(fmt)} "
                    f"({now.strftime(fmt)} - {self.emu.max_clock_skew // 60:.0f} min.)")
        if signed > now + skew:
            return (f"Signature not yet current: {stamp} is still later than {(now + skew).strftime(fmt)} "
                    f"({now.strftime(fmt)} + {self.emu.max_clock_skew // 60:.0f} min.)")
        return None

    def _call_moto(self, environ: dict[str, Any], body: bytes) -> Response:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = headers
            return chunks.append

        environ["wsgi.input"] = io.BytesIO(body)
        _tls.raw_body = body
        try:
            result = self.moto_app(environ, start_response)
            try:
                for chunk in result:
                    chunks.append(chunk)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        finally:
            _tls.raw_body = None
        status = int(str(captured.get("status", "500")).split(None, 1)[0])
        return status, list(captured.get("headers", [])), b"".join(chunks)

    def _truncated(self, environ: dict[str, Any], start_response: Callable[..., Any], status: int,
                   headers: list[tuple[str, str]], body: bytes, rule: FaultRule) -> Iterable[bytes]:
        keep = len(body) // 2 if rule.bytes is None else max(0, min(int(rule.bytes), len(body) - 1))
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {http.HTTPStatus(status).phrase}", headers)

        def body_iter() -> Iterable[bytes]:
            if keep:
                yield body[:keep]
            _abort_connection(environ)

        return body_iter()

    def _aws(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = self._read_body(environ)
        info = self._classify(environ, body)
        rule = self.emu.faults.pick(info)
        self.emu.counters.add(info, rule is not None, _journal_params(info, environ, body))

        if self.emu.imds.is_expired(info.access_key):
            return self._respond(start_response, *render_error(
                info, "ExpiredToken" if info.protocol != "json" else "ExpiredTokenException",
                "The security token included in the request is expired", 403, "Sender"))

        skew = self._clock_skew_error(environ)
        if skew:
            json_native = info.protocol == "json" and info.service != "sqs"
            code = "InvalidSignatureException" if json_native else "SignatureDoesNotMatch"
            return self._respond(start_response, *render_error(info, code, skew, 403, "Sender"))

        if rule is not None and rule.when == "before" and rule.kind != "truncate":
            if rule.kind == "stall":
                self._stall(rule.seconds)
            elif rule.kind == "drop":
                _abort_connection(environ)
            else:
                code, message, status, ftype = rule.error(info)
                return self._respond(start_response, *render_error(info, code, message, status, ftype))

        status, headers, resp = self._call_moto(environ, body)
        if status >= 400:
            status, headers, resp = _normalize_moto_error(info, status, headers, resp)

        if rule is not None and (rule.when == "after" or rule.kind == "truncate"):
            if rule.kind == "truncate":
                return self._truncated(environ, start_response, status, headers, resp, rule)
            if rule.kind == "stall":
                self._stall(rule.seconds)
            elif rule.kind == "drop":
                _abort_connection(environ)
            else:
                code, message, fstatus, ftype = rule.error(info)
                return self._respond(start_response, *render_error(info, code, message, fstatus, ftype))
        return self._respond(start_response, status, headers, resp)


_MOTO_NESTED_ERROR = re.compile(rb"<ErrorResponse>\s*<Errors>\s*<Error>(.*?)</Error>", re.S)


def _xml_field(fragment: bytes, name: str) -> str:
    m = re.search(rb"<%s>(.*?)</%s>" % (name.encode(), name.encode()), fragment, re.S)
    if not m:
        return ""
    text = m.group(1).decode("utf-8", "replace")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _normalize_moto_error(info: RequestInfo, status: int, headers: list[tuple[str, str]],
                          body: bytes) -> Response:
    """moto renders its auth errors (SignatureDoesNotMatch, InvalidClientTokenId,
    AccessDenied, ...) as ``<ErrorResponse><Errors><Error>`` XML, served as
    text/html and even to JSON-protocol services such as SQS.  AWS answers
    ``<ErrorResponse><Error>..</Error><RequestId>`` for Query services and a
    JSON error document for JSON services: re-render those in the right shape."""
    if info.protocol not in ("query", "json"):
        return status, headers, body
    m = _MOTO_NESTED_ERROR.search(body[:4096])
    if not m:
        return status, headers, body
    fragment = m.group(1)
    code = _xml_field(fragment, "Code")
    if not code:
        return status, headers, body
    return render_error(info, code, _xml_field(fragment, "Message"), status, _xml_field(fragment, "Type") or None)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without the per-request access log."""

    verbose = False

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if self.verbose:
            super().log_request(code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        if self.verbose or type == "error":
            super().log(type, message, *args)


# ---------------------------------------------------------------------------
# S3 export tasks (the source's optional S3 export, docs/s3-export.md)
#
# moto 5.2.1 makes every export task "complete" at once, in lowercase,
# ignores DescribeExportTasks' Filters, MaxRecords and Marker, and never
# fails a task.  Here a task goes STARTING -> IN_PROGRESS (rising
# PercentProgress) -> COMPLETE over ``export_delay`` seconds, statuses are
# AWS's capitals, the export-task-identifier / source-arn / status filters
# and paging work, and a test can make tasks whose identifier matches a
# glob end FAILED with a FailureCause.  Kept in this one section.
# ---------------------------------------------------------------------------


class _ExportClock:
    """Export task timing and planned failures (moto state is global)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delay = 0.0
        self.failures: list[tuple[str, str]] = []  # (identifier glob, FailureCause)

    def reset(self, delay: float) -> None:
        with self.lock:
            self.delay = max(0.0, float(delay))
            self.failures = []

    def plan(self, task_id: str) -> list[Any]:
        """[started (monotonic), duration, FailureCause or None] for a new task."""
        import fnmatch

        with self.lock:
            cause = next((c for g, c in self.failures if fnmatch.fnmatchcase(task_id, g)), None)
            return [time.monotonic(), self.delay, cause]


_EXPORTS = _ExportClock()


def _export_progress(task: Any) -> tuple[str, int]:
    """(AWS status, percent) of an export task from its timer."""
    stored = task.__dict__.get("_ob_status", "")
    if stored.lower() in ("canceled", "canceling"):
        return stored.upper(), task.__dict__.get("_ob_percent", 0)
    timer = task.__dict__.get("_ob_export")
    if not timer:
        return "COMPLETE", 100
    started, duration, cause = timer
    elapsed = time.monotonic() - started
    if elapsed < duration:
        # the first tenth (at most 2 s) is STARTING, as on AWS
        if elapsed < min(2.0, duration / 10):
            return "STARTING", 0
        return "IN_PROGRESS", max(1, min(99, int(100 * elapsed / duration)))
    if cause is not None:
        return "FAILED", 50 if duration > 0 else 0  # failed half way, say
    return "COMPLETE", 100


def _patch_exports() -> None:
    cls = _rds_models.ExportTask

    def status_get(self: Any) -> str:
        return _export_progress(self)[0]

    def status_set(self: Any, value: str) -> None:
        if str(value).lower() in ("canceled", "canceling"):
            self.__dict__["_ob_percent"] = _export_progress(self)[1]
        self.__dict__["_ob_status"] = str(value)

    def cause_get(self: Any) -> str | None:
        timer = self.__dict__.get("_ob_export")
        if timer and _export_progress(self)[0] == "FAILED":
            return timer[2]
        return None

    cls.status = property(status_get, status_set)
    cls.percent_progress = property(lambda self: _export_progress(self)[1])
    cls.failure_cause = property(cause_get)
    cls.task_start_time = property(lambda self: self.created_at)

    backend_cls = _rds_models.RDSBackend
    orig_start = backend_cls.start_export_task

    def start_export_task(self: Any, kwargs: dict[str, Any]) -> Any:
        task = orig_start(self, kwargs)
        task.__dict__["_ob_export"] = _EXPORTS.plan(task.export_task_identifier)
        return task

    start_export_task.__wrapped__ = orig_start  # type: ignore[attr-defined]
    backend_cls.start_export_task = start_export_task

    def resp_describe_export_tasks(self: Any) -> Any:
        ident = self.params.get("ExportTaskIdentifier")
        tasks = list(self.backend.describe_export_tasks(ident))
        source_arn = self.params.get("SourceArn")
        if source_arn:
            tasks = [t for t in tasks if t.source_arn == source_arn]
        for f in self.params.get("Filters", []) or []:
            name, values = f.get("Name"), list(f.get("Values") or [])
            if name == "export-task-identifier":
                tasks = [t for t in tasks if t.export_task_identifier in values]
            elif name == "source-arn":
                tasks = [t for t in tasks if t.source_arn in values]
            elif name == "s3-bucket":
                tasks = [t for t in tasks if t.s3_bucket in values]
            elif name == "status":  # lowercase on AWS
                tasks = [t for t in tasks if t.status.lower() in values]
            else:
                raise RDSClientError("InvalidParameterValue", f"Unrecognized filter name: {name}")
        max_records = int(self.params.get("MaxRecords") or 100)
        if not 20 <= max_records <= 100:
            raise RDSClientError("InvalidParameterValue", "MaxRecords must be between 20 and 100")
        start = int(self.params.get("Marker") or 0)
        page = tasks[start:start + max_records]
        result: dict[str, Any] = {"ExportTasks": page}
        if start + max_records < len(tasks):
            result["Marker"] = str(start + max_records)
        return _rds_responses.ActionResult(result)

    _rds_responses.RDSResponse.describe_export_tasks = resp_describe_export_tasks

# --- end of the S3 export section ------------------------------------------

# ---------------------------------------------------------------------------
# the public API
# ---------------------------------------------------------------------------

_RUNNING: "Emulator | None" = None
_RUNNING_LOCK = threading.Lock()


class Emulator:
    """moto on 127.0.0.1:<free port> with two accounts, IAM auth, shims.

    Attributes once started: ``endpoint``, ``port``, ``imds_url``,
    ``control_url``, ``region`` and ``accounts`` ({"source"|"vault": {
    "account_id", "access_key_id", "secret_access_key"}}).
    """

    def __init__(self, copy_delay: float = 0.0, region: str = DEFAULT_REGION,
                 imds_account: str = "source", imds_ttl: float | None = None,
                 verbose: bool = False, max_clock_skew: float | None = 900) -> None:
        self.region = region
        self.max_clock_skew = max_clock_skew  # seconds; None: do not check X-Amz-Date
        self.initial_copy_delay = float(copy_delay)
        self.verbose = verbose
        self.accounts: dict[str, dict[str, str]] = {}
        self.endpoint = ""
        self.port = 0
        self.imds_url = ""
        self.control_url = ""
        self.faults = FaultTable()
        self.counters = Counters()
        self.imds = Imds(self, imds_account, imds_ttl)
        self._key_accounts: dict[str, str] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started = False

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "Emulator":
        global _RUNNING
        with _RUNNING_LOCK:
            if _RUNNING is not None:
                raise EmulatorError("an Emulator is already running in this process (moto state is global)")
            _RUNNING = self
        try:
            _install_patches()
            self._reset_moto()
            _COPIES.reset(self.initial_copy_delay)
            _EXPORTS.reset(0.0)
            self._bootstrap()
            handler = type("_Handler", (_QuietHandler,), {"verbose": self.verbose})
            self._server = make_server("127.0.0.1", 0, _FrontEnd(self), threaded=True, request_handler=handler)
            self.port = self._server.server_port
            self.endpoint = f"http://127.0.0.1:{self.port}"
            self.imds_url = self.endpoint
            self.control_url = self.endpoint + CONTROL_PREFIX
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                name="obemu-server", daemon=True,
            )
            self._thread.start()
            self._started = True
            self._verify_auth()
            return self
        except BaseException:
            if self._started:
                self.stop()
            else:
                if self._server is not None:
                    self._server.server_close()
                self._release()
            raise

    def stop(self) -> None:
        if not self._started:
            self._release()
            return
        self._stopping.set()  # wakes stalled requests
        try:
            self._server.shutdown()
            self._server.server_close()
        finally:
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._started = False
            self._release()

    def _verify_auth(self) -> None:
        """Refuse to run unless moto checks signatures: a request signed with
        a wrong secret must come back 403 SignatureDoesNotMatch."""
        if _moto_settings.INITIAL_NO_AUTH_ACTION_COUNT != 0:
            raise EmulatorError("moto IAM authentication is not on from request 0")
        body = "Action=GetCallerIdentity&Version=2011-06-15"
        req = botocore.awsrequest.AWSRequest(
            method="POST", url=self.endpoint + "/", data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        creds = botocore.credentials.Credentials(self.accounts["source"]["access_key_id"], "not-the-secret")
        botocore.auth.SigV4Auth(creds, "sts", self.region).add_auth(req)
        http_req = urllib.request.Request(self.endpoint + "/", data=body.encode(),
                                          headers=dict(req.headers.items()), method="POST")
        try:
            urllib.request.urlopen(http_req, timeout=10).read()
            status, text = 200, b""
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        self.counters.reset()
        if status != 403 or b"<Code>SignatureDoesNotMatch</Code>" not in text:
            raise EmulatorError(f"moto accepted a request signed with a wrong secret ({status})")

    def _release(self) -> None:
        global _RUNNING
        with _RUNNING_LOCK:
            if _RUNNING is self:
                _RUNNING = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- accounts --------------------------------------------------------
    @staticmethod
    def _reset_moto() -> None:
        moto_api_backend.reset()
        ActionAuthenticatorMixin.request_count = 0
        _moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    def _bootstrap(self) -> None:
        """Admin user + access key and the instance role in each account.

        Done directly on moto's IAM backends: with auth on from request 0 no
        HTTP request could create the first user.  Keys made this way are
        exactly what iam:CreateAccessKey makes (moto maps them to the
        account whose backend holds them).  On a re-bootstrap after reset()
        the previous key ids/secrets are restored."""
        previous = self.accounts
        self.accounts = {}
        self._key_accounts = {}
        for name, account_id in ACCOUNTS.items():
            iam = iam_backends[account_id]["aws"]
            iam.create_user(self.region, ADMIN_USER)
            iam.put_user_policy(ADMIN_USER, "admin", _ADMIN_POLICY)
            key = iam.create_access_key(ADMIN_USER)
            if name in previous:
                del iam.access_keys[key.access_key_id]
                key.access_key_id = previous[name]["access_key_id"]
                key.secret_access_key = previous[name]["secret_access_key"]
                iam.access_keys[key.access_key_id] = key
            iam.create_role(INSTANCE_ROLE, _EC2_TRUST, "/", None, "offsite-backup instance role", [], None)
            iam.put_role_policy(INSTANCE_ROLE, "admin", _ADMIN_POLICY)
            self.accounts[name] = {
                "account_id": account_id,
                "access_key_id": key.access_key_id,
                "secret_access_key": key.secret_access_key,
            }
            self._key_accounts[key.access_key_id] = account_id

    def _account_of_key(self, access_key: str) -> str:
        if not access_key:
            return "anonymous"
        account = self._key_accounts.get(access_key)
        if account:
            return account
        for account_id, backends in list(iam_backends.items()):
            try:
                if access_key in backends["aws"].access_keys:
                    self._key_accounts[access_key] = account_id
                    return account_id
            except KeyError:
                continue
        return "unknown"

    def resolve_account(self, account: str) -> str:
        """"source"/"vault" or a 12-digit id -> the id."""
        if account in ACCOUNTS:
            return ACCOUNTS[account]
        if re.fullmatch(r"\d{12}", str(account)) or account in ("*", "unknown", "anonymous"):
            return str(account)
        raise EmulatorError(f"unknown account {account!r}")

    def reset(self) -> None:
        """Empty moto (keeping the two accounts and their keys), drop faults,
        counters, copy timers and IMDS state."""
        self._reset_moto()
        self._bootstrap()
        self.faults.remove()
        self.counters.reset()
        _COPIES.reset(_COPIES.delay)
        _EXPORTS.reset(_EXPORTS.delay)
        self.imds.reset()
        _RDS_QUOTA_MAX.clear()  # alerts: quota Max back to the default

    # -- clients ---------------------------------------------------------
    def client(self, service: str, account: str = "source", region: str | None = None, **kwargs: Any) -> Any:
        """A boto3 client signed with the account's admin keys."""
        creds = self.accounts[account]
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            aws_access_key_id=creds["access_key_id"],
            aws_secret_access_key=creds["secret_access_key"],
            **kwargs,
        )

    @staticmethod
    def no_retry_config(**kwargs: Any) -> botocore.config.Config:
        """botocore Config without retries (for fault tests)."""
        return botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}, **kwargs)

    # -- faults / counters / copy delay / IMDS ------------------------------
    def inject(self, service: str = "*", action: str = "*", kind: str = "throttle", **spec: Any) -> int:
        """Add a fault rule; returns its id.  See FaultRule / README."""
        spec = dict(spec, service=service, action=action, kind=kind)
        spec = {k: v for k, v in spec.items() if v is not None or k == "count"}
        return self.faults.add(FaultRule(spec, self.resolve_account))

    def clear_faults(self, rule_id: int | None = None) -> int:
        return self.faults.remove(rule_id)

    def fault_rules(self) -> list[dict[str, Any]]:
        return self.faults.list()

    def counts(self, service: str = "*", action: str = "*", account: str = "*") -> list[dict[str, Any]]:
        """Rows {account, service, action, count, faulted} matching the filters."""
        return self.counters.query(self.resolve_account(account), service.lower(), action)

    def count(self, service: str = "*", action: str = "*", account: str = "*") -> int:
        return sum(row["count"] for row in self.counts(service, action, account))

    def reset_counts(self) -> None:
        """Zero the counters and clear the call journal."""
        self.counters.reset()

    def journal(self, service: str = "*", action: str = "*", account: str = "*",
                since: float | None = None) -> list[dict[str, Any]]:
        """The call journal: every counted call since the last reset /
        reset_counts, oldest first, as {time (time.time()), account (id),
        service, action, faulted, params}.  params holds, for RDS, the
        Source/Target/DB(Cluster)SnapshotIdentifier given; for events
        PutEvents, {"entries": N, "resources": [...]}; else {}."""
        return self.counters.journal(self.resolve_account(account), service.lower(), action, since)

    def set_copy_delay(self, seconds: float) -> None:
        """Copies started from now on stay `creating` this long."""
        with _COPIES.lock:
            _COPIES.delay = max(0.0, float(seconds))

    @property
    def copy_delay(self) -> float:
        return _COPIES.delay

    def complete_copies(self) -> int:
        """Make every copy still in progress available now."""
        return _COPIES.complete_all()

    # -- S3 export tasks (see the S3 export section above) ------------------
    def set_export_delay(self, seconds: float) -> None:
        """Export tasks started from now on take this long to COMPLETE."""
        with _EXPORTS.lock:
            _EXPORTS.delay = max(0.0, float(seconds))

    @property
    def export_delay(self) -> float:
        return _EXPORTS.delay

    def fail_exports(self, glob: str, cause: str = "S3 write failed: Access Denied") -> None:
        """Export tasks started from now on whose identifier matches glob
        end FAILED (after the export delay) with this FailureCause."""
        if not isinstance(glob, str) or not glob or not isinstance(cause, str):
            raise EmulatorError("fail_exports needs a non-empty glob and a cause")
        with _EXPORTS.lock:
            _EXPORTS.failures.append((glob, cause))

    def set_imds(self, account: str | None = None, ttl: Any = "keep",
                 enforce_expiry: bool | None = None, rotate: bool = False) -> dict[str, Any]:
        return self.imds.configure(account, ttl, enforce_expiry, rotate)

    def add_backup_snapshot(self, account: str, db_identifier: str, job_id: str, cluster: bool = False,
                            tags: list[dict[str, str]] | None = None, region: str | None = None) -> dict[str, str]:
        """Create an AWS Backup style snapshot ``awsbackup:<job_id>`` (type
        ``awsbackup``) of an existing instance/cluster.  moto's API refuses
        such identifiers, so this goes straight to the backend; it stands in
        for what AWS Backup would make.  Returns identifier, ARN and type."""
        backend = _rds_models.rds_backends[self.resolve_account(account)][region or self.region]
        name = f"awsbackup:{job_id}"
        if cluster:
            snap = backend.create_db_cluster_snapshot(db_identifier, name, snapshot_type="awsbackup", tags=tags)
            return {"DBClusterSnapshotIdentifier": snap.db_cluster_snapshot_identifier,
                    "DBClusterSnapshotArn": snap.arn, "SnapshotType": snap.snapshot_type,
                    "DBClusterIdentifier": db_identifier}
        snap = backend.create_db_snapshot(db_identifier, name, snapshot_type="awsbackup", tags=tags)
        return {"DBSnapshotIdentifier": snap.db_snapshot_identifier, "DBSnapshotArn": snap.arn,
                "SnapshotType": snap.snapshot_type, "DBInstanceIdentifier": db_identifier}

    def info(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "port": self.port,
            "region": self.region,
            "imds_url": self.imds_url,
            "control_url": self.control_url,
            "accounts": self.accounts,
            "imds_role": INSTANCE_ROLE,
            "copy_delay": _COPIES.delay,
            "export_delay": _EXPORTS.delay,
            "pid": os.getpid(),
        }

    # -- alerts: RDS quota Max (see "alerts: RDS DescribeAccountAttributes") --
    def set_rds_quota_max(self, max: Any = "keep", **names: Any) -> dict[str, int]:  # noqa: A002
        """Max of both manual snapshot quotas (max=N), or per name
        (ManualSnapshots=N); None = the default 100."""
        values = dict(names)
        if max != "keep":
            values["*"] = max
        return set_rds_quota_max(values)

    # -- control API -----------------------------------------------------
    def _control(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX):].rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length > 0 else b""
            body = json.loads(raw) if raw.strip() else {}
            status, result = self._route(method, path, query, body)
        except (EmulatorError, ValueError, TypeError, KeyError) as e:
            status, result = 400, {"error": str(e)}
        return status, [("Content-Type", "application/json")], (json.dumps(result, indent=1) + "\n").encode()

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if path == "/health" and method == "GET":
            return 200, {"ok": True}
        if path == "/info" and method == "GET":
            return 200, self.info()
        if path == "/faults":
            if method == "GET":
                return 200, {"rules": self.faults.list()}
            if method == "POST":
                specs = body.get("rules", [body]) if isinstance(body, dict) else body
                if not isinstance(specs, list):
                    raise EmulatorError("expected a rule object, a list or {\"rules\": [...]}")
                rules = [FaultRule(spec, self.resolve_account) for spec in specs]
                return 200, {"ids": [self.faults.add(rule) for rule in rules]}
            if method == "DELETE":
                return 200, {"removed": self.faults.remove()}
        m = re.fullmatch(r"/faults/(\d+)", path)
        if m and method == "DELETE":
            removed = self.faults.remove(int(m.group(1)))
            return (200 if removed else 404), {"removed": removed}
        if path == "/counts":
            if method == "GET":
                rows = self.counts(query.get("service", "*"), query.get("action", "*"), query.get("account", "*"))
                return 200, {"counts": rows, "total": sum(r["count"] for r in rows)}
            if method == "DELETE":
                self.reset_counts()
                return 200, {"reset": True}
        if path == "/journal" and method == "GET":
            since = float(query["since"]) if query.get("since") else None
            rows = self.journal(query.get("service", "*"), query.get("action", "*"),
                                query.get("account", "*"), since)
            return 200, {"journal": rows, "total": len(rows), "dropped": self.counters.dropped}
        if path == "/counts/reset" and method == "POST":
            self.reset_counts()
            return 200, {"reset": True}
        if path == "/copy-delay":
            if method in ("POST", "PUT"):
                self.set_copy_delay(float(body["seconds"]))
            if method in ("GET", "POST", "PUT"):
                return 200, {"seconds": self.copy_delay}
        if path == "/export-delay":  # S3 export section
            if method in ("POST", "PUT"):
                self.set_export_delay(float(body["seconds"]))
            if method in ("GET", "POST", "PUT"):
                return 200, {"seconds": self.export_delay}
        if path == "/export-failures" and method == "POST":
            self.fail_exports(body["glob"], body.get("cause", "S3 write failed: Access Denied"))
            return 200, {"failures": [list(f) for f in _EXPORTS.failures]}
        if path == "/copies/complete" and method == "POST":
            return 200, {"completed": self.complete_copies()}
        if path == "/imds":
            if method in ("POST", "PUT"):
                unknown = set(body) - {"account", "ttl", "enforce_expiry", "rotate"}
                if unknown:
                    raise EmulatorError(f"unknown imds fields: {sorted(unknown)}")
                return 200, self.set_imds(body.get("account"), body.get("ttl", "keep"),
                                          body.get("enforce_expiry"), bool(body.get("rotate", False)))
            if method == "GET":
                return 200, self.imds.state()
        if path == "/rds-quotas":  # alerts
            if method in ("POST", "PUT"):
                if not isinstance(body, dict):
                    raise EmulatorError("expected {\"ManualSnapshots\": N, ...}")
                return 200, set_rds_quota_max(body)
            if method == "GET":
                return 200, set_rds_quota_max({})
        if path == "/reset" and method == "POST":
            self.reset()
            return 200, {"reset": True}
        return 404, {"error": f"no control endpoint {method} {CONTROL_PREFIX}{path}"}
