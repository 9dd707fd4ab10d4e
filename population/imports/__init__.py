"""Imports of the base databases from government spreadsheets: merge, never duplicate.

Entry point: service.population_import. Pieces: formats (reading .xlsx/.csv), columns (the
templates and header mapping), rows and values (per-row validation,
encryption and the accepted spellings of choice columns), staging (COPY into
a temporary table), merge / merge_kinds (the SQL merge), workbook (template and report
spreadsheets).
"""
