"""Staff pages for customers: search, one customer's calls across campaigns, do-not-call."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns.forms import ReasonForm
from campaigns.models import Customer, DoNotCall
from common.access import staff_required

CUSTOMERS_PER_PAGE = 50


def _get_customer(customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.with_do_not_call(), pk=customer_id)


def search(term: str):
    customers = Customer.objects.with_do_not_call()
    term = term.strip()
    if not term:
        return customers
    digits = "".join(ch for ch in term if ch.isdigit())
    match = Q(first_name__icontains=term) | Q(last_name__icontains=term) | Q(email__icontains=term)
    parts = term.split()
    if len(parts) == 2:
        match |= Q(first_name__iexact=parts[0], last_name__iexact=parts[1])
    if digits and len(digits) >= 3:
        match |= Q(phone__contains=digits)
    return customers.filter(match)


@staff_required
def customer_list(request):
    term = request.GET.get("q", "")
    paginator = Paginator(search(term), CUSTOMERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "campaigns/customer_list.html", {"page": page, "q": term})


@staff_required
def customer_detail(request, customer_id):
    customer = _get_customer(customer_id)
    ctx = {
        "customer": customer,
        "dnc": DoNotCall.objects.of(customer.phone).first(),
        "leads": customer.leads.select_related("campaign").order_by("-created_at"),
        "calls": customer.calls.select_related("campaign").order_by("-created_at")[:100],
    }
    return render(request, "campaigns/customer_detail.html", ctx)


@require_POST
@staff_required
def customer_dnc_add(request, customer_id):
    customer = _get_customer(customer_id)
    form = ReasonForm(request.POST)
    reason = (form.cleaned_data["reason"] if form.is_valid() else "") or "Added by staff"
    DoNotCall.objects.add([customer.phone], reason=f"{reason} ({request.user.get_username()})")
    messages.success(request, f"{customer.phone} is on the do-not-call list; it will not be dialled.")
    return redirect("customer-detail", customer.pk)


@require_POST
@staff_required
def customer_dnc_remove(request, customer_id):
    customer = _get_customer(customer_id)
    DoNotCall.objects.remove([customer.phone])
    messages.success(request, f"{customer.phone} is off the do-not-call list; open leads may be dialled.")
    return redirect("customer-detail", customer.pk)
