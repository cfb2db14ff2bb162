"""GeoReport v2 service requests: the list, one request, and posting a new one."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from django_ratelimit.core import get_usage

from civicstat.cases.query import CaseFilter, cases
from civicstat.open311.decorators import open311
from civicstat.open311.documents import RequestWriter, last_note, served_layers, served_services
from civicstat.open311.formats import Open311Error, error_response, respond
from civicstat.open311.models import ApiKey
from civicstat.open311.params import one, requests_query
from civicstat.open311.posting import post_answer, read_post
from civicstat.open311.services import api_key_check, request_post
from civicstat.readlimits import throttled, time_limited
from civicstat.web import cached_by_data_version, client_ip


@csrf_exempt
@cached_by_data_version  # GETs only: a POST goes straight through
@open311
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        response: HttpResponse = _post(request, fmt=fmt)
        return response
    if request.method not in ("GET", "HEAD"):
        raise Open311Error(405, "use GET to read requests or POST to create one")
    response = _list(request, fmt=fmt)
    return response


def _refused(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A throttled or stopped read, as the spec's error list in the format asked for."""
    return error_response("xml" if request.path.endswith(".xml") else "json", status, message)


def _searches_text(request: HttpRequest) -> bool:
    # `q` reads the description and address of every case in the window; the rest seek indexes.
    return bool(request.GET.get("q", "").strip())


@cached_by_data_version
@throttled(when=_searches_text, refuse=_refused)
@time_limited(refuse=_refused)
def _list(request: HttpRequest, fmt: str) -> HttpResponse:
    q = requests_query(request.GET)
    f = CaseFilter(layers=served_layers(), status_group=q.status, bbox=q.bbox, text=q.text)
    qs = cases(f)
    if q.ids:
        qs = qs.filter(external_id__in=q.ids)
    else:
        if q.service_codes:
            # A code may hold commas ("Traffic Signal Pole Damage, Rust, Vandalism"): the whole
            # value names a service before its comma-separated parts do.
            whole = one(request.GET, "service_code")
            known = list(served_services().filter(code__in=[whole, *q.service_codes])
                         .values_list("code", "id"))  # fmt: skip
            if whole in {code for code, _ in known}:
                known = [(code, id_) for code, id_ in known if code == whole]
                q.service_codes = [whole]
            unknown = sorted(set(q.service_codes) - {code for code, _ in known})
            if unknown:
                raise Open311Error(404, f"unknown service_code {', '.join(unknown)}; see "
                                        f"services.{fmt} for the list")  # fmt: skip
            # By id, so the database can walk the (service, requested_at) index.
            qs = qs.filter(service_id__in=[service_id for _, service_id in known])
        if q.start:
            qs = qs.filter(requested_at__gte=q.start)
        if q.end:
            qs = qs.filter(requested_at__lte=q.end)
        if q.updated_after:
            after = q.updated_after
            # A note changes a request without changing its status: a syncing client needs it.
            qs = qs.annotate(last_note=last_note()).filter(
                Q(updated_at__gt=after) | Q(updated_at=None, requested_at__gt=after)
                | Q(last_note__gt=after))  # fmt: skip
        if q.updated_before:
            before = q.updated_before
            qs = qs.filter(Q(updated_at__lte=before) | Q(updated_at=None, requested_at__lte=before))
        if q.agencies:
            qs = qs.filter(department__name__in=q.agencies)
    writer = RequestWriter(extensions=q.extensions)
    first = (q.page - 1) * q.page_size
    page = writer.prepare(qs.order_by("-requested_at", "-id"))[first : first + q.page_size]
    return respond(fmt, writer.docs(page), root="service_requests")


@require_GET
@cached_by_data_version
@open311
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    extensions = request.GET.get("extensions", "").lower() == "true"
    writer = RequestWriter(extensions=extensions)
    found = writer.prepare(cases(CaseFilter(layers=served_layers())).filter(external_id=request_id))
    docs = writer.docs(found[:1])
    if not docs:
        raise Open311Error(404, f"no service request with id {request_id!r}")
    return respond(fmt, docs, root="service_requests")


def _post_limit(request: HttpRequest, api_key: ApiKey | None) -> None:
    """Count the post against OPEN311_POST_RATE; raise the spec's error list with a 429 past it.

    Counted per stored key, after the lookup: any spelling that reaches the same key (padded with
    spaces or tabs) is the same client. A key that matches nothing is counted per client address,
    so guessing keys cannot flood the server either."""
    bucket = f"key:{api_key.pk}" if api_key is not None else f"ip:{client_ip(request)}"
    rate = str(settings.OPEN311_POST_RATE)
    usage = get_usage(request, group="open311.post", key=lambda group, request: bucket,
                      rate=rate, method="POST", increment=True)  # fmt: skip
    if usage is not None and usage["should_limit"]:
        wait = max(1, usage["time_left"])  # -1 when the cache failed
        raise Open311Error(429, f"too many posts with this api_key (at most {rate}); try again "
                                f"in {wait} s", headers={"Retry-After": str(wait)})  # fmt: skip


def _post(request: HttpRequest, fmt: str) -> HttpResponse:
    # The spec posts a form; the v2.1 Swagger file puts the same fields in the query string.
    data = request.POST.copy()
    for name, values in request.GET.lists():
        if name not in data:
            data.setlist(name, values)
    api_key = api_key_check(raw=str(data.get("api_key", "")).strip())
    _post_limit(request, api_key)
    if api_key is None:
        raise Open311Error(403, "invalid api_key: ask the city's staff for a key, and check it "
                                "was not revoked")  # fmt: skip
    posted = read_post(data)
    case, token = request_post(layer=posted.service.layer, record=posted.record,
                               contact=posted.contact, api_key=api_key)  # fmt: skip
    doc = post_answer(kind=posted.kind, case=case, token=token)
    return respond(fmt, [doc], root="service_requests")
