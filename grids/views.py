"""Thin page views for the territory."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    return render(request, "grids/map.html", {})
