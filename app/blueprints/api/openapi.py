"""The OpenAPI document, with the user record derived from the field schema."""

from __future__ import annotations

from app.models import UserStatus
from app.services.user_schema import USER_FIELDS


def user_record_schema() -> dict:
    """The canonical user record as a JSON schema."""
    return {
        "type": "object",
        "required": [f.name for f in USER_FIELDS if f.mandatory and not f.derivable],
        "properties": {f.name: {"type": "string", "maxLength": f.max_length, "title": f.label,
                                "description": f.help or f.label} for f in USER_FIELDS},
    }


def _components() -> dict:
    """Schemas shared by the paths."""
    problem = {"type": "object", "properties": {
        "field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"},
        "suggestion": {"type": ["string", "null"]}}}
    user = {"allOf": [{"$ref": "#/components/schemas/UserRecord"}, {"type": "object", "properties": {
        "id": {"type": "integer"}, "status": {"type": "string", "enum": list(UserStatus.ALL)},
        "step": {"type": "string"}, "last_error": {"type": "string"}, "origin": {"type": "string"},
        "object_guid": {"type": ["string", "null"]}}}]}
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "A personal token from `enlist issue-token EMAIL`."}},
        "schemas": {
            "UserRecord": user_record_schema(), "Problem": problem, "User": user, **import_schemas(),
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
            "Problems": {"type": "object", "properties": {
                "error": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
                "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}},
        },
    }


def _json(schema_ref: str, description: str) -> dict:
    """A JSON response of a component schema."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "The deployment's short code."}
UNAUTHORIZED = {"401": {"$ref": "#/components/responses/Unauthorized"}}


def paths() -> dict:
    """Every documented route."""
    return {
        "/deployments": {"get": {"summary": "List deployments", "responses": {
            "200": {"description": "Deployments with user counts per status"}, **UNAUTHORIZED}}},
        "/deployments/{code}/users": {
            "parameters": [CODE],
            "get": {"summary": "List the deployment's users", "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(UserStatus.ALL)}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": {"description": "A page of users"}, **UNAUTHORIZED,
                              "404": _json("Error", "Unknown deployment")}},
            "post": {"summary": "Create a draft user",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/UserRecord"}}}},
                     "responses": {"201": _json("User", "Created"), **UNAUTHORIZED,
                                   "422": _json("Problems", "The record has errors")}},
        },
    }


def import_paths() -> dict:
    """The bulk import routes (the same staging pipeline as the pages)."""
    batch_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    row = {"name": "row", "in": "path", "required": True, "schema": {"type": "integer"},
           "description": "The spreadsheet row number."}
    return {
        "/deployments/{code}/imports": {"parameters": [CODE], "post": {
            "summary": "Upload an .xlsx or .csv and stage its rows",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}}}}}},
            "responses": {"201": _json("Batch", "The staged batch with its rows"), **UNAUTHORIZED,
                          "413": _json("Error", "The file is over the size limit"),
                          "422": _json("Error", "The file cannot be read as a user list (the message says why)")}}},
        "/imports/{id}": {"parameters": [batch_id], "get": {
            "summary": "A staged batch: counts and rows (1,000 a page)",
            "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                           {"name": "errors", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                            "description": "Only rows with errors."}],
            "responses": {"200": _json("Batch", "The batch"), **UNAUTHORIZED, "404": _json("Error", "No such batch")}}},
        "/imports/{id}/rows/{row}": {"parameters": [batch_id, row], "patch": {
            "summary": "Change fields of a row (or skip it); the row is checked again",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "allOf": [{"$ref": "#/components/schemas/UserRecord"},
                          {"type": "object", "properties": {"skipped": {"type": "boolean"}}}]}}}},
            "responses": {"200": _json("Row", "The row with its remaining errors and warnings"), **UNAUTHORIZED,
                          "409": _json("Error", "The batch or row can no longer change")}}},
        "/imports/{id}/commit": {"parameters": [batch_id], "post": {
            "summary": "Import the batch as draft users",
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                "only_valid": {"type": "boolean", "description": "Import the valid rows, keep the others"}}}}}},
            "responses": {"200": {"description": "How many users were imported"}, **UNAUTHORIZED,
                          "409": _json("Error", "Already imported or discarded"),
                          "422": _json("Error", "Rows still have errors")}}},
    }


def import_schemas() -> dict:
    """Schemas of the import routes."""
    problems = {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}
    row = {"type": "object", "properties": {
        "row": {"type": "integer"}, "state": {"type": "string", "enum": ["pending", "skipped", "imported"]},
        "values": {"$ref": "#/components/schemas/UserRecord"}, "errors": problems, "warnings": problems}}
    counts = {"type": "object", "properties": {name: {"type": "integer"} for name in
                                               ("rows", "errors", "warnings", "skipped", "imported", "importable")}}
    batch = {"type": "object", "properties": {
        "id": {"type": "integer"}, "deployment": {"type": "string"}, "source": {"type": "string"},
        "filename": {"type": "string"}, "state": {"type": "string"}, "counts": counts,
        "unknown_columns": {"type": "array", "items": {"type": "string"}},
        "columns": {"type": "object", "additionalProperties": {"type": "string"}},
        "rows": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}},
        "page": {"type": "integer"}, "pages": {"type": "integer"}}}
    return {"Row": row, "Batch": batch}


def openapi_document() -> dict:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Enlist API", "version": "1",
                 "description": "Automate what technicians do in the portal. Every answer is JSON."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {**paths(), **import_paths()},
        "components": {**_components(), "responses": {"Unauthorized": _json("Error", "Missing or invalid token")}},
    }
