"""Staff pages for contact imports: upload, map columns, watch progress, read the report."""

from django.contrib import messages
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from campaigns.imports import service as imports
from campaigns.imports.export import campaign_results_csv, rejected_rows_csv
from campaigns.imports.forms import MappingForm, UploadForm
from campaigns.imports.reading import ImportFileError
from campaigns.models import Campaign, ContactImport
from campaigns.tasks import run_contact_import
from common.access import staff_required

REPORT_REJECTIONS = 200  # on the page; the CSV download has them all


def _get_import(pk: int) -> ContactImport:
    return get_object_or_404(ContactImport.objects.select_related("campaign"), pk=pk)


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    return StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": content_disposition_header(as_attachment=True, filename=filename),
    })


@staff_required
def import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None,
                      initial={"campaign": request.GET.get("campaign")})
    if request.method == "POST" and form.is_valid():
        try:
            contact_import = imports.create_import(
                form.cleaned_data["file"], form.cleaned_data["campaign"], request.user
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("import-mapping", contact_import.pk)
    recent = ContactImport.objects.select_related("campaign")[:20]
    return render(request, "campaigns/import_list.html", {"form": form, "imports": recent})


@staff_required
def import_mapping(request, pk: int):
    contact_import = _get_import(pk)
    if contact_import.status != ContactImport.Status.PENDING:
        return redirect("import-detail", pk)
    file_preview = imports.file_preview(contact_import)
    form = MappingForm.for_import(contact_import, file_preview.header, request.POST or None)
    if request.method == "POST" and form.is_valid():
        options = {k: form.cleaned_data[k] for k in ("default_country", "existing", "duplicates")}
        if imports.confirm(contact_import, form.mapping, **options):
            run_contact_import.delay_on_commit(contact_import.pk)
        return redirect("import-detail", pk)
    return render(request, "campaigns/import_mapping.html",
                  {"contact_import": contact_import, "preview": file_preview, "form": form})


@staff_required
def import_detail(request, pk: int):
    contact_import = _get_import(pk)
    if contact_import.status == ContactImport.Status.PENDING:
        return redirect("import-mapping", pk)
    rejections = contact_import.rejections.all()[:REPORT_REJECTIONS]
    return render(request, "campaigns/import_detail.html", {
        "contact_import": contact_import,
        "rejections": rejections,
        "stalled": imports.stalled(contact_import),
        "progress": progress(contact_import),
    })


def progress(contact_import: ContactImport) -> dict:
    total = contact_import.total_rows
    return {
        "status": contact_import.status,
        "status_label": contact_import.get_status_display(),
        "finished": contact_import.is_finished,
        "rows_done": contact_import.rows_done,
        "total_rows": total,
        "percent": round(100 * contact_import.rows_done / total) if total else (100 if total == 0 else 0),
        **{bucket: getattr(contact_import, bucket) for bucket in ContactImport.BUCKETS},
    }


@staff_required
def import_progress(request, pk: int):
    return JsonResponse(progress(_get_import(pk)))


@staff_required
def import_rejected_csv(request, pk: int):
    contact_import = _get_import(pk)
    name = slugify(contact_import.original_name.rsplit(".", 1)[0]) or "contacts"
    return _csv_response(rejected_rows_csv(contact_import), f"{name}-rejected.csv")


@require_POST
@staff_required
def import_resume(request, pk: int):
    contact_import = _get_import(pk)
    if imports.requeue(contact_import):
        run_contact_import.delay_on_commit(contact_import.pk)
        messages.info(request, "The import continues after the last saved batch.")
    return redirect("import-detail", pk)


@staff_required
def campaign_export(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    name = slugify(campaign.name) or f"campaign-{campaign.pk}"
    return _csv_response(campaign_results_csv(campaign), f"{name}-results.csv")
