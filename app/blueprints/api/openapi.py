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
        "object_guid": {"type": ["string", "null"]}, "ad_dn": {"type": ["string", "null"]}}}]}
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "A personal token from `enlist issue-token EMAIL`."},
                            "discovery_token": {"type": "http", "scheme": "bearer", "description":
                                                "A deployment's discovery token (end_...), from its Discovery "
                                                "page or `enlist discovery-token CODE`."}},
        "schemas": {
            "UserRecord": user_record_schema(), "Problem": problem, "User": user, **import_schemas(),
            **cloud_schemas(), **discovery_schemas(),
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


def cloud_paths() -> dict:
    """Send to cloud and its progress (the same service as the Users page)."""
    send_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    request = {"type": "object", "properties": {
        "user_ids": {"type": "array", "items": {"type": "integer"},
                     "description": "Users to send (drafts, failed, disabled, or conflicts after a rename)."},
        "all_drafts": {"type": "boolean", "description": "Send every draft user instead."},
        "password": {"type": "string", "description": "The initial password, when the deployment's "
                                                      "password policy is 'typed'."}}}
    return {
        "/deployments/{code}/send-to-cloud": {"parameters": [CODE], "post": {
            "summary": "Queue users for Active Directory: one job per user",
            "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
            "responses": {"202": {"description": "Queued; the body has the send (its id) and how many of the "
                                                 "asked users were skipped",
                                  "content": {"application/json": {"schema": {"type": "object", "properties": {
                                      "send": {"$ref": "#/components/schemas/Send"},
                                      "skipped": {"type": "integer"}}}}}},
                          **UNAUTHORIZED,
                          "409": _json("Error", "Not on cloud (the message says why), or nothing new to send"),
                          "422": _json("Error", "No users given, or the typed password is refused")}}},
        "/sends/{id}": {"parameters": [send_id], "get": {
            "summary": "A send: counts per outcome (they add up to total) and each user's outcome",
            "responses": {"200": _json("Send", "The send"), **UNAUTHORIZED, "404": _json("Error", "No such send")}}},
        "/sends/{id}/results.{format}": {"parameters": [send_id, {
            "name": "format", "in": "path", "required": True, "schema": {"type": "string", "enum": ["xlsx", "csv"]}}],
            "get": {"summary": "The results file: every user with outcome and reason (formula-safe)",
                    "responses": {"200": {"description": "The .xlsx or .csv file"}, **UNAUTHORIZED,
                                  "404": _json("Error", "No such send or format")}}},
        "/sends/{id}/passwords": {"parameters": [send_id], "post": {
            "summary": "The send's initial passwords, once (the send's one download); erased afterwards",
            "responses": {"200": {"description": "Username, sign-in name, email, password and outcome per user"},
                          **UNAUTHORIZED,
                          "409": _json("Error", "Already taken, expired, or the send is not finished")}}},
    }


def cloud_schemas() -> dict:
    """Schemas of the Send to cloud routes."""
    outcome = {"type": "string", "enum": ["queued", "running", "retrying", "ok", "failed", "conflict"]}
    task = {"type": "object", "properties": {
        "user_id": {"type": ["integer", "null"]}, "username": {"type": "string"}, "name": {"type": "string"},
        "outcome": outcome, "step": {"type": "string"}, "attempts": {"type": "integer"},
        "message": {"type": "string", "description": "Plain words: why it failed or waits"},
        "error_code": {"type": "string"}}}
    counts = {"type": "object", "properties": {k: {"type": "integer"} for k in
                                               ("waiting", "running", "ok", "failed", "conflict")}}
    send = {"type": "object", "properties": {
        "id": {"type": "integer"}, "deployment": {"type": "string"},
        "action": {"type": "string", "enum": ["create", "link", "update", "reset_password", "groups", "disable",
                                              "delete"]},
        "total": {"type": "integer"}, "finished": {"type": "boolean"}, "percent": {"type": "integer"},
        "counts": counts, "summary": {"type": "string"}, "created_by": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "results": {"type": "object", "properties": {"xlsx": {"type": "string"}, "csv": {"type": "string"}}},
        "users": {"type": "array", "items": task}}}
    return {"Send": send, "SendUser": task}


def discovery_paths() -> dict:
    """The discovery agents' route: it takes a discovery token, not a personal one."""
    from app.services.discovery import MAX_BYTES, MAX_RECORDS

    body = {"oneOf": [{"$ref": "#/components/schemas/DiscoveryRecord"},
                      {"type": "object", "required": ["records"], "properties": {"records": {
                          "type": "array", "minItems": 1, "maxItems": MAX_RECORDS,
                          "items": {"$ref": "#/components/schemas/DiscoveryRecord"}}}}]}
    return {"/discovery": {"post": {
        "summary": "Report discovered users: upserted into the Catalog by source key",
        "description": f"One record, or up to {MAX_RECORDS} in `records` (at most {MAX_BYTES // (1024 * 1024)} MB). "
                       "Records are checked one by one: the good ones are saved even when others are rejected. "
                       "Rate limited per token (429 with Retry-After).",
        "security": [{"discovery_token": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": _json("DiscoveryAnswer", "Every record was saved"),
                      "400": _json("Error", "The body is not JSON, or records is empty"),
                      "401": _json("Error", "Missing, unknown or revoked discovery token"),
                      "413": _json("Error", f"Over {MAX_RECORDS} records or over the size limit"),
                      "415": _json("Error", "Not application/json"),
                      "422": _json("DiscoveryAnswer", "Some records were rejected (the others were saved)"),
                      "429": _json("Error", "Too many requests for this token: wait Retry-After seconds")}}}}


def discovery_schemas() -> dict:
    """Schemas of the discovery route, the record's fields derived from the field schema."""
    from app.services.discovery import MAX_LENGTHS, OUTCOMES

    properties = {name: {"type": ["string", "null"], "maxLength": length} for name, length in MAX_LENGTHS.items()}
    properties["source"] = {"type": "string", "enum": ["pc", "network"]}
    properties["source_key"]["description"] = ("Stable key: the objectGUID for network records; the SID, or "
                                               "pc:MACHINE:DOMAIN\\account, for pc records.")
    record = {"type": "object", "required": ["source", "source_key"], "additionalProperties": False,
              "properties": properties}
    error = {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}
    result = {"type": "object", "properties": {
        "index": {"type": "integer"}, "source_key": {"type": "string"},
        "outcome": {"type": "string", "enum": list(OUTCOMES)}, "errors": {"type": "array", "items": error}}}
    answer = {"type": "object", "properties": {
        "counts": {"type": "object", "properties": {name: {"type": "integer"} for name in OUTCOMES}},
        "results": {"type": "array", "items": result}}}
    return {"DiscoveryRecord": record, "DiscoveryAnswer": answer}


def openapi_document() -> dict:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Enlist API", "version": "1",
                 "description": "Automate what technicians do in the portal. Every answer is JSON."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {**paths(), **import_paths(), **cloud_paths(), **discovery_paths()},
        "components": {**_components(), "responses": {"Unauthorized": _json("Error", "Missing or invalid token")}},
    }
