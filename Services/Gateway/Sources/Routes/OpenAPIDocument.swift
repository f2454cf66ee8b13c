import Hummingbird

/// `GET /api/schema/`: the OpenAPI 3.1 description of the API (SPEC §1), for client generators and
/// contract tests. Kept by hand beside the routes it describes.
enum OpenAPIDocument {
    static func response(baseURL: String) -> Response {
        let body = document.replacingOccurrences(of: "{{BASE_URL}}", with: baseURL)
        return Response(
            status: .ok, headers: [.contentType: "application/vnd.oai.openapi+json", .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static let document = #"""
    {
      "openapi": "3.1.0",
      "info": {"title": "Mediaflow API", "version": "1.0.0",
               "description": "Upload photos, videos and voice notes; get web-ready renditions."},
      "servers": [{"url": "{{BASE_URL}}"}],
      "security": [{"bearerAuth": []}],
      "paths": {
        "/api/media/upload/": {"post": {
          "operationId": "uploadMedia", "summary": "Upload one file (streamed).",
          "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false,
                          "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
          "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}, "is_public": {"type": "boolean", "default": true}}}}}},
          "responses": {
            "201": {"description": "Created; processing started.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
            "200": {"description": "Idempotent replay: the media the first upload created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
            "413": {"$ref": "#/components/responses/Error"}, "415": {"$ref": "#/components/responses/Error"}}}},
        "/api/media/": {"get": {
          "operationId": "listMedia", "summary": "The caller's media, newest first.",
          "parameters": [
            {"name": "type", "in": "query", "schema": {"type": "string", "enum": ["image", "video", "audio"]}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["uploading", "processing", "ready", "failed"]}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
            {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
          "responses": {
            "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaPage"}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/media/stats/": {"get": {
          "operationId": "mediaStats", "summary": "The caller's figures.",
          "responses": {
            "200": {"description": "Stats.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}},
            "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/media/{id}/": {
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
          "get": {"operationId": "getMedia", "summary": "One media (owner, or anyone signed in when public).",
            "responses": {
              "200": {"description": "The media.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
              "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
          "patch": {"operationId": "updateMedia", "summary": "Change visibility.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
              "type": "object", "properties": {"is_public": {"type": "boolean"}}}}}},
            "responses": {
              "200": {"description": "The media.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}}},
          "delete": {"operationId": "deleteMedia", "summary": "Delete the row and every stored file.",
            "responses": {"204": {"description": "Deleted."},
              "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/media/{id}/reprocess/": {
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
          "post": {"operationId": "reprocessMedia", "summary": "Process a failed media again (new generation).",
            "responses": {
              "202": {"description": "Processing again.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
              "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
              "409": {"$ref": "#/components/responses/Error"}}}},
        "/media/{key}": {"get": {
          "operationId": "getFile", "summary": "A stored file; private media need ?exp=&sig=.", "security": [],
          "parameters": [
            {"name": "key", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "exp", "in": "query", "schema": {"type": "integer"}},
            {"name": "sig", "in": "query", "schema": {"type": "string"}},
            {"name": "Range", "in": "header", "schema": {"type": "string"}}],
          "responses": {"200": {"description": "The file."}, "206": {"description": "Part of the file."},
            "304": {"description": "Not modified."}, "404": {"$ref": "#/components/responses/Error"},
            "416": {"$ref": "#/components/responses/Error"}}}},
        "/api/schema/": {"get": {"operationId": "schema", "security": [], "summary": "This document.",
          "responses": {"200": {"description": "OpenAPI 3.1 document."}}}},
        "/healthz": {"get": {"operationId": "healthz", "security": [], "responses": {"200": {"description": "Alive."}}}},
        "/readyz": {"get": {"operationId": "readyz", "security": [], "responses": {
          "200": {"description": "Database and broker reachable."}, "503": {"description": "A dependency is down."}}}},
        "/metrics": {"get": {"operationId": "metrics", "security": [], "responses": {"200": {"description": "Prometheus text format."}}}}
      },
      "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "responses": {"Error": {"description": "An error.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        "schemas": {
          "Error": {"type": "object", "required": ["detail", "code"],
            "properties": {"detail": {"type": "string"}, "code": {"type": "string"}}},
          "Media": {"type": "object",
            "required": ["id", "user", "user_username", "file_type", "status", "file_size", "mime_type", "original_filename",
                         "display_url", "thumbnail_url", "urls", "width", "height", "duration", "bitrate", "metadata",
                         "is_public", "created_at", "updated_at"],
            "properties": {
              "id": {"type": "integer"}, "user": {"type": "integer"}, "user_username": {"type": "string"},
              "file_type": {"type": "string", "enum": ["image", "video", "audio"]},
              "status": {"type": "string", "enum": ["uploading", "processing", "ready", "failed"]},
              "file_size": {"type": "integer"}, "mime_type": {"type": "string"}, "original_filename": {"type": "string"},
              "display_url": {"type": "string", "format": "uri"},
              "thumbnail_url": {"type": ["string", "null"], "format": "uri"},
              "urls": {"type": "object", "required": ["original"], "additionalProperties": {"type": ["string", "null"]}},
              "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
              "duration": {"type": ["number", "null"]}, "bitrate": {"type": ["integer", "null"]},
              "metadata": {"type": "object"}, "is_public": {"type": "boolean"},
              "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
          "MediaPage": {"type": "object", "required": ["count", "next", "previous", "results"],
            "properties": {"count": {"type": "integer"}, "next": {"type": ["string", "null"]},
              "previous": {"type": ["string", "null"]}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Media"}}}},
          "Stats": {"type": "object", "required": ["total", "by_type", "by_status", "total_size"],
            "properties": {"total": {"type": "integer"}, "total_size": {"type": "integer"},
              "by_type": {"type": "object", "required": ["image", "video", "audio"], "additionalProperties": {"type": "integer"}},
              "by_status": {"type": "object", "required": ["ready", "processing", "failed", "uploading"], "additionalProperties": {"type": "integer"}}}}
        }
      }
    }
    """#
}
