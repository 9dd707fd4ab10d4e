"""Writes to the base databases, one record at a time (imports have their own pipeline).

Every write validates (check digits, cross-checks, addresses), refuses duplicates by the
same keys the imports merge on (blind index of the identity number, credit code,
normalised address), protects identifiers through population.protect, and stores the
grid, community and street of anything with a location at write time, so reads filter by
plain indexes. `population_reassign_grids` redoes that in bulk when boundaries change.
"""

from .errors import Duplicate, Invalid
from .organisations import (
    OrganisationInput,
    organisation_create,
    organisation_update,
    organisation_validate,
)
from .people import (
    PersonInput,
    person_create,
    person_find,
    person_update,
    person_validate,
    residence_add,
    residence_end,
)
from .places import (
    BuildingInput,
    building_create,
    building_update,
    building_validate,
    housing_unit_create,
    housing_unit_update,
    place_of,
)
from .regrid import population_reassign_grids

__all__ = [
    "BuildingInput",
    "Duplicate",
    "Invalid",
    "OrganisationInput",
    "PersonInput",
    "building_create",
    "building_update",
    "building_validate",
    "housing_unit_create",
    "housing_unit_update",
    "organisation_create",
    "organisation_update",
    "organisation_validate",
    "person_create",
    "person_find",
    "person_update",
    "person_validate",
    "place_of",
    "population_reassign_grids",
    "residence_add",
    "residence_end",
]
