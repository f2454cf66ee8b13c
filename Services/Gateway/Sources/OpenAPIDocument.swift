import GatewayKit
import Hummingbird
import MediaDomain

/// `GET /api/schema/`: the OpenAPI 3.1 description of the API (SPEC §1), for client generators and contract tests.
/// Kept by hand beside the routes it describes, with every status a route really answers and every limit it really
/// enforces; the configured limits are filled in when the document is made, once at start-up. Schemathesis runs
/// against it in `make test` (scripts/schemathesis.sh), so a route that drifts from it fails the build.
struct OpenAPIDocument: Sendable {
    let body: String

    init(baseURL: String, limits: MediaLimits) {
        body = Self.template
            .replacingOccurrences(of: "{{BASE_URL}}", with: baseURL)
            .replacingOccurrences(of: "{{LIMITS}}", with: [FileType.image, .video, .audio]
                .map { limits.describeLimit(for: $0) }.joined(separator: ", "))
            .replacingOccurrences(of: "{{MAX_PIXELS}}", with: String(limits.maxImagePixels))
    }

    func response() -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/vnd.oai.openapi+json", .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static let template = #"""
    {
      "openapi": "3.1.0",
      "info": {"title": "Mediaflow API", "version": "1.1.0",
               "description": "Upload photos, videos and voice notes; get web-ready renditions. Every error is a JSON object {detail, code}. Every /api/media/ route needs a bearer token (HS256 JWT); another user's private media answers 404 on every route. A path answers a method it does not take with 405 and an Allow header, and OPTIONS with 204 and Allow."},
      "servers": [{"url": "{{BASE_URL}}"}],
      "security": [{"bearerAuth": []}],
      "paths": {
        "/api/media/upload/": {"post": {
          "operationId": "uploadMedia",
          "summary": "Upload one file, streamed to storage.",
          "description": "The file's type is decided from its first bytes (JPEG, PNG, GIF, WebP, BMP; MP4, QuickTime, AVI, Matroska, WebM; MP3, WAV, Ogg, AAC (ADTS), M4A); its name's extension must be a supported one announcing the same type. Limits: {{LIMITS}} (binary units; a file of exactly the limit is accepted), images of at most {{MAX_PIXELS}} pixels. The 413 is answered while the client still sends. The file name is metadata only, kept to 255 characters (the extension is never cut).",
          "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false,
                          "description": "Makes a retry safe: the same user's second upload with this key within 24 hours answers 200 with the first upload's media and stores nothing.",
                          "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
                          "example": "3f1c2d9e-upload-1"}],
          "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "description": "Fields other than file and is_public are ignored; a second file part is refused (too_many_files).",
            "properties": {
              "file": {"type": "string", "format": "binary", "description": "Exactly one file part, with a file name."},
              "is_public": {"type": "boolean", "default": true}}}}}},
          "responses": {
            "201": {"description": "Created; processing started.", "headers": {"RateLimit-Limit": {"$ref": "#/components/headers/RateLimitLimit"}, "RateLimit-Remaining": {"$ref": "#/components/headers/RateLimitRemaining"}, "RateLimit-Reset": {"$ref": "#/components/headers/RateLimitReset"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}},
              "links": {
                "getMedia": {"operationId": "getMedia", "parameters": {"id": "$response.body#/id"}},
                "updateMedia": {"operationId": "updateMedia", "parameters": {"id": "$response.body#/id"}},
                "deleteMedia": {"operationId": "deleteMedia", "parameters": {"id": "$response.body#/id"}},
                "reprocessMedia": {"operationId": "reprocessMedia", "parameters": {"id": "$response.body#/id"}}}},
            "200": {"description": "Idempotent replay: the media the first upload with this key created.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
            "400": {"description": "file_missing, too_many_files, empty_file, type_mismatch, malformed_request, invalid_field or invalid_idempotency_key.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "413": {"description": "file_too_large: over the type's limit; quota_exceeded: the upload (its Content-Length, or the bytes streamed so far) does not fit in the caller's storage quota (SPEC §10), answered before anything is stored.", "headers": {"RateLimit-Limit": {"$ref": "#/components/headers/RateLimitLimit"}, "RateLimit-Remaining": {"$ref": "#/components/headers/RateLimitRemaining"}, "RateLimit-Reset": {"$ref": "#/components/headers/RateLimitReset"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "415": {"description": "unsupported_media_type: the content is no supported format, or the extension is none we support.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "429": {"$ref": "#/components/responses/RateLimited"},
            "503": {"description": "unavailable (the rate limit or the quota could not be checked), database_unavailable or storage_unavailable; try again (Retry-After).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
        "/api/media/quota/": {"get": {
          "operationId": "mediaQuota", "summary": "The caller's storage quota (SPEC §10): originals, renditions and cached variants, once per stored file.",
          "responses": {
            "200": {"description": "The figures; available_bytes is never below 0 (renditions may carry a user past the limit).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Quota"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/{id}/transform-url/": {
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}}],
          "post": {"operationId": "transformURL", "summary": "A signed /img/ URL of a media the caller may see (SPEC §12); private media's expire.",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
              "anyOf": [{"required": ["width"], "properties": {"width": {"type": "integer"}}}, {"required": ["height"], "properties": {"height": {"type": "integer"}}}],
              "properties": {"width": {"type": ["integer", "null"], "minimum": 1, "maximum": 4096}, "height": {"type": ["integer", "null"], "minimum": 1, "maximum": 4096},
                "fit": {"type": ["string", "null"], "enum": ["cover", "contain", "fill", "inside", null]},
                "gravity": {"type": ["string", "null"], "enum": ["centre", "smart", "entropy", "face", null]},
                "format": {"type": ["string", "null"], "enum": ["jpg", "webp", "avif", "png", "auto", null]},
                "quality": {"type": ["integer", "null"], "minimum": 1, "maximum": 100}}},
              "example": {"width": 320, "height": 240, "fit": "cover", "gravity": "smart", "format": "auto"}}}},
            "responses": {
              "200": {"description": "The URL; expires_at is null for public media.", "content": {"application/json": {"schema": {"type": "object", "required": ["url", "expires_at"], "additionalProperties": false,
                "properties": {"url": {"type": "string"}, "expires_at": {"type": ["string", "null"], "format": "date-time"}}}}}},
              "400": {"description": "invalid_option (no width or height, a side out of 1-4096, an unknown fit, gravity or format, a quality out of 1-100), invalid_json or invalid_request.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"description": "not_found: no such media, or another user's private one.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "413": {"$ref": "#/components/responses/TooLarge"}, "415": {"$ref": "#/components/responses/NotJSON"},
              "501": {"description": "transforms_disabled: no MEDIA_TRANSFORM_KEY on this server.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/img/{signature}/{options}/{file}": {
          "parameters": [
            {"name": "signature", "in": "path", "required": true, "description": "The first 32 characters of the base64url HMAC-SHA256 of <options>/<file>[?exp=<n>] with MEDIA_TRANSFORM_KEY.", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{32}$"}},
            {"name": "options", "in": "path", "required": true, "description": "w_<px>, h_<px> (at least one; 1-4096), fit_<cover|contain|fill|inside>, g_<centre|smart|entropy|face>, q_<1-100>, comma-separated, each once (any order; shown here in the order transform-url writes them).", "schema": {"type": "string", "pattern": "^(w_([1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6])(,h_([1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6]))?|h_([1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-6]))(,fit_(cover|contain|fill|inside))?(,g_(centre|smart|entropy|face))?(,q_([1-9][0-9]?|100))?$"}},
            {"name": "file", "in": "path", "required": true, "description": "<media id>.<jpg|webp|avif|png|auto>", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,17}\\.(jpg|webp|avif|png|auto)$"}},
            {"name": "exp", "in": "query", "required": false, "description": "Private media: the URL's expiry, seconds since 1970 (signed).", "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}}],
          "get": {"operationId": "transformImage", "summary": "A transform of a media's picture (SPEC §12): rendered on first request, then served from storage.", "security": [],
            "responses": {
              "200": {"description": "The picture (image/jpeg, image/webp, image/avif or image/png), Cache-Control a year and immutable; Vary: Accept for auto.", "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}},
              "206": {"description": "A range of it."},
              "304": {"description": "Not modified (If-None-Match)."},
              "400": {"description": "invalid_option: an unknown, repeated or out-of-range option, a bad format or id.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "403": {"description": "invalid_signature or url_expired.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "404": {"description": "not_found: no such ready media with a picture, or transforms are off.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "416": {"description": "range_not_satisfiable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "503": {"description": "busy: every render slot stayed taken for 10 s (Retry-After), or the database could not answer.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}},
        "/api/admin/users/{id}/quota/": {
          "parameters": [{"name": "id", "in": "path", "required": true, "description": "Any user id: users exist only in tokens.",
                          "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}}],
          "get": {"operationId": "userQuota", "summary": "Staff: a user's storage quota.",
            "responses": {
              "200": {"description": "The user's figures.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserQuota"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"description": "not_found: the id is not a positive integer.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "503": {"$ref": "#/components/responses/Unavailable"}}},
          "put": {"operationId": "setUserQuota", "summary": "Staff: set a user's storage quota (null: back to MEDIA_QUOTA_BYTES).",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["limit_bytes"],
              "properties": {"limit_bytes": {"type": ["integer", "null"], "format": "int64", "minimum": 0, "maximum": 9223372036854775807}}},
              "example": {"limit_bytes": 52428800}}}},
            "responses": {
              "200": {"description": "The user's figures under the new limit.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserQuota"}}}},
              "400": {"description": "invalid_limit (limit_bytes missing, negative, fractional, not a number, or past 2^63 - 1), invalid_json or invalid_request.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"description": "not_found: the id is not a positive integer.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "413": {"$ref": "#/components/responses/TooLarge"}, "415": {"$ref": "#/components/responses/NotJSON"},
              "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/": {"get": {
          "operationId": "listMedia", "summary": "The caller's media, newest first.",
          "parameters": [
            {"name": "type", "in": "query", "description": "Empty means any type, as an unset filter of a form sends it.",
             "schema": {"type": "string", "enum": ["image", "video", "audio", ""]}, "example": "image"},
            {"name": "status", "in": "query", "description": "Empty means any status.",
             "schema": {"type": "string", "enum": ["uploading", "processing", "ready", "failed", ""]}, "example": "ready"},
            {"name": "page", "in": "query", "description": "From 1; empty means 1.",
             "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}], "default": 1}},
            {"name": "page_size", "in": "query", "description": "Values over 100 are read as 100; empty means 20.",
             "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}], "default": 20}}],
          "responses": {
            "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaPage"}}}},
            "400": {"description": "invalid_filter or invalid_parameter.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"description": "invalid_page: past the last page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/stats/": {"get": {
          "operationId": "mediaStats", "summary": "The caller's figures.",
          "responses": {
            "200": {"description": "Stats; every key present, zeros included.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/{id}/": {
          "parameters": [{"$ref": "#/components/parameters/MediaId"}],
          "get": {"operationId": "getMedia", "summary": "One media (the owner's, or anyone's signed in when public).",
            "responses": {
              "200": {"description": "The media.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "503": {"$ref": "#/components/responses/Unavailable"}}},
          "patch": {"operationId": "updateMedia", "summary": "Change visibility (the owner only).",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
              "type": "object", "required": ["is_public"], "properties": {"is_public": {"type": "boolean"}},
              "description": "Other members are ignored."}, "example": {"is_public": false}}}},
            "responses": {
              "200": {"description": "The media.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
              "400": {"description": "invalid_json or invalid_request: the body is not an object with a boolean is_public.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "413": {"description": "request_too_large: a body over 64 KiB.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "415": {"description": "unsupported_media_type: a body that is not application/json.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "503": {"$ref": "#/components/responses/Unavailable"}}},
          "delete": {"operationId": "deleteMedia", "summary": "Delete the row and every stored file (the owner only).",
            "responses": {"204": {"description": "Deleted."},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/{id}/reprocess/": {
          "parameters": [{"$ref": "#/components/parameters/MediaId"}],
          "post": {"operationId": "reprocessMedia", "summary": "Process a failed media again, as a new generation (the owner only).",
            "responses": {
              "202": {"description": "Processing again.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Media"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "409": {"description": "not_failed: only failed media can be reprocessed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/{id}/similar/": {
          "parameters": [{"$ref": "#/components/parameters/MediaId"}],
          "get": {"operationId": "similarMedia", "summary": "The caller's media whose perceptual hash (metadata.phash) is within max_distance bits of this one's, nearest first (SPEC §13). A media without a hash (audio, not processed yet) has none.",
            "parameters": [
              {"name": "max_distance", "in": "query", "description": "Hamming distance, 0 to 32; empty means 10.",
               "schema": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 32}, {"type": "string", "maxLength": 0}], "default": 10}},
              {"name": "page", "in": "query", "description": "From 1; empty means 1.",
               "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}], "default": 1}},
              {"name": "page_size", "in": "query", "description": "Values over 100 are read as 100; empty means 20.",
               "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}], "default": 20}}],
            "responses": {
              "200": {"description": "A page of media.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaPage"}}}},
              "400": {"description": "invalid_parameter: max_distance outside 0-32, or a bad page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"description": "No such media (or another user's private one), or invalid_page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/media/{key}": {"get": {
          "operationId": "getFile", "summary": "A stored file. Public media's files are open to anyone; private media's need the ?exp=&sig= their URLs carry.", "security": [],
          "parameters": [
            {"name": "key", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 512}},
            {"name": "exp", "in": "query", "schema": {"type": "integer"}},
            {"name": "sig", "in": "query", "schema": {"type": "string"}},
            {"name": "Range", "in": "header", "schema": {"type": "string"}},
            {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
            {"name": "If-Range", "in": "header", "schema": {"type": "string"}}],
          "responses": {
            "200": {"description": "The file.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
            "206": {"description": "Part of the file.", "headers": {"Content-Range": {"schema": {"type": "string"}}}},
            "304": {"description": "Not modified."},
            "404": {"$ref": "#/components/responses/NotFound"},
            "416": {"description": "range_not_satisfiable.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/media/": {"get": {
          "operationId": "listStaffMedia", "summary": "Staff: every user's media, newest first, with filters (SPEC §7).",
          "parameters": [
            {"name": "type", "in": "query", "schema": {"type": "string", "enum": ["image", "video", "audio", ""]}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["uploading", "processing", "ready", "failed", ""]}},
            {"name": "user", "in": "query", "description": "The owner's user id.",
             "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 9223372036854775807}, {"type": "string", "maxLength": 0}]}},
            {"name": "q", "in": "query", "description": "A case-insensitive part of the file name or of the owner's name (no control characters).",
             "schema": {"type": "string", "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f]*$"}},
            {"name": "created_after", "in": "query", "description": "Created at or after: a date (UTC midnight) or an ISO 8601 time.",
             "schema": {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}},
            {"name": "created_before", "in": "query", "description": "Created before: a date (UTC midnight) or an ISO 8601 time.",
             "schema": {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}, {"type": "string", "maxLength": 0}]}},
            {"name": "page", "in": "query", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}},
            {"name": "page_size", "in": "query", "description": "Values over 100 are read as 100.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}}],
          "responses": {
            "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaPage"}}}},
            "400": {"description": "invalid_filter or invalid_parameter.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"description": "invalid_page: past the last page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/dead-letters/": {"get": {
          "operationId": "listDeadLetters", "summary": "Staff: dead letters grouped by queue and failure code, and a page of them.",
          "parameters": [
            {"name": "queue", "in": "query", "schema": {"type": "string", "enum": ["image-service", "video-service", "audio-service", "gateway.status", "image-service.dead", "video-service.dead", "audio-service.dead", "gateway.status.dead", ""]}},
            {"name": "code", "in": "query", "schema": {"type": "string", "maxLength": 100}},
            {"name": "page", "in": "query", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}},
            {"name": "page_size", "in": "query", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}}],
          "responses": {
            "200": {"description": "Groups and a page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeadLetterPage"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"description": "invalid_page: past the last page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/dead-letters/replay/": {"post": {
          "operationId": "replayDeadLetters", "summary": "Staff: republish dead letters (SPEC §6); at least one of queue, code, event_ids, all.",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
            "anyOf": [{"required": ["queue"]}, {"required": ["code"]}, {"required": ["event_ids"]},
                      {"required": ["all"], "properties": {"all": {"const": true}}}],
            "properties": {"queue": {"type": "string", "enum": ["image-service", "video-service", "audio-service", "gateway.status", "image-service.dead", "video-service.dead", "audio-service.dead", "gateway.status.dead"]},
              "code": {"type": "string", "minLength": 1, "maxLength": 255}, "event_ids": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 255}},
              "all": {"type": "boolean"}, "limit": {"type": "integer", "minimum": 1, "maximum": 1000000}, "dry_run": {"type": "boolean"}}},
            "example": {"code": "storage_unavailable", "dry_run": true}}}},
          "responses": {
            "200": {"description": "What was (or, dry, would be) replayed and skipped.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReplayReport"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"},
            "415": {"$ref": "#/components/responses/NotJSON"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/media/bulk/": {"post": {
          "operationId": "bulkMediaAction", "summary": "Staff: an action on many media of any user.",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["action", "ids"],
            "properties": {"action": {"type": "string", "enum": ["reprocess", "delete", "make_public", "make_private"]},
              "ids": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"type": "integer", "minimum": 1, "maximum": 9223372036854775807}}}},
            "example": {"action": "reprocess", "ids": [1, 2]}}}},
          "responses": {
            "200": {"description": "Done and skipped ids.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkResult"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"},
            "415": {"$ref": "#/components/responses/NotJSON"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/janitor/runs/": {"get": {
          "operationId": "janitorRuns", "summary": "Staff: the Janitor's latest runs, newest first.",
          "parameters": [
            {"name": "task", "in": "query", "schema": {"type": "string", "enum": ["failed_cleanup", "orphan_sweep", "stuck_processing", "outbox_watch", "quota_resync", "backfill", ""]}},
            {"name": "limit", "in": "query", "description": "Values over 500 are read as 500.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}}],
          "responses": {
            "200": {"description": "Runs.", "content": {"application/json": {"schema": {"type": "object", "required": ["results"],
              "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/JanitorRun"}}}}}}},
            "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/janitor/run/": {"post": {
          "operationId": "runJanitorTask", "summary": "Staff: run one Janitor task now (recorded like a scheduled run).",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["task"],
            "properties": {"task": {"type": "string", "enum": ["failed_cleanup", "orphan_sweep", "stuck_processing", "outbox_watch", "quota_resync", "backfill"]},
              "dry_run": {"type": "boolean"}}}, "example": {"task": "orphan_sweep", "dry_run": true}}}},
          "responses": {
            "200": {"description": "The run, finished (a failed task is a finished run whose error says why).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JanitorRun"}}}},
            "202": {"description": "The run as it stands (requested or running) when it did not finish within 3 s; GET /api/admin/janitor/runs/ shows it later.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JanitorRun"}}}},
            "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"}, "413": {"$ref": "#/components/responses/TooLarge"},
            "415": {"$ref": "#/components/responses/NotJSON"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/sessions/": {"get": {
          "operationId": "listAdminSessions", "summary": "Staff: the admin console's live sessions, newest first (SPEC §7).",
          "responses": {
            "200": {"description": "Sessions.", "content": {"application/json": {"schema": {"type": "object", "required": ["results"],
              "properties": {"results": {"type": "array", "items": {"type": "object", "required": ["id", "user_id", "username", "created_at", "expires_at"],
                "properties": {"id": {"type": "integer"}, "user_id": {"type": "integer"}, "username": {"type": "string"},
                  "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"}}}}}}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/admin/sessions/{id}/": {
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
          "delete": {
            "operationId": "revokeAdminSession", "summary": "Staff: ends an admin console session on every Gateway at once.",
            "responses": {
              "204": {"description": "Revoked."},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"},
              "404": {"$ref": "#/components/responses/NotFound"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/media/events/ticket/": {"post": {
          "operationId": "issueEventTicket", "summary": "A one-use ticket, valid 60 s, for GET /api/media/events/?ticket= (SPEC §8).",
          "description": "GET /api/media/events/ itself is a Server-Sent Events stream (text/event-stream) that does not end, so it is described in the README rather than here: a client generated from this document would wait for its end forever.",
          "responses": {
            "201": {"description": "The ticket.", "content": {"application/json": {"schema": {"type": "object", "required": ["ticket", "expires_in"], "additionalProperties": false,
              "properties": {"ticket": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "expires_in": {"type": "integer", "minimum": 1}}}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/webhooks/": {
          "post": {
            "operationId": "createWebhook", "summary": "Registers a webhook; the answer carries its secret, shown this once (SPEC §8).",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookCreate"}}}},
            "responses": {
              "201": {"description": "The webhook with its secret.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}}},
              "400": {"description": "invalid_json, invalid_request, invalid_event, invalid_url (not http(s), credentials in it, a host that does not resolve or resolves to a private, loopback or link-local address), or too_many_webhooks (the caller has 20, SPEC §10).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "413": {"$ref": "#/components/responses/TooLarge"},
              "415": {"$ref": "#/components/responses/NotJSON"}, "503": {"$ref": "#/components/responses/Unavailable"}}},
          "get": {
            "operationId": "listWebhooks", "summary": "The caller's webhooks (without their secrets).",
            "responses": {
              "200": {"description": "The webhooks.", "content": {"application/json": {"schema": {"type": "object", "required": ["count", "results"],
                "properties": {"count": {"type": "integer", "minimum": 0}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}}}}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/webhooks/{id}/": {
          "parameters": [{"$ref": "#/components/parameters/WebhookId"}],
          "get": {
            "operationId": "getWebhook", "summary": "One of the caller's webhooks (without its secret).",
            "responses": {
              "200": {"description": "The webhook.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
              "503": {"$ref": "#/components/responses/Unavailable"}}},
          "delete": {
            "operationId": "deleteWebhook", "summary": "Deletes a webhook and its deliveries.",
            "responses": {
              "204": {"description": "Deleted."},
              "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
              "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/webhooks/{id}/deliveries/": {"get": {
          "operationId": "listWebhookDeliveries", "summary": "A webhook's deliveries, newest first, each with every attempt.",
          "parameters": [{"$ref": "#/components/parameters/WebhookId"},
            {"name": "page", "in": "query", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}},
            {"name": "page_size", "in": "query", "description": "Values over 100 are read as 100.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 1000000}, {"type": "string", "maxLength": 0}]}}],
          "responses": {
            "200": {"description": "A page of deliveries.", "content": {"application/json": {"schema": {"type": "object", "required": ["count", "next", "previous", "results"],
              "properties": {"count": {"type": "integer", "minimum": 0},
                "next": {"type": ["string", "null"], "format": "uri"}, "previous": {"type": ["string", "null"], "format": "uri"},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}}}}}}},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver/": {"post": {
          "operationId": "redeliverWebhookDelivery", "summary": "Sends a delivery again, now, with a fresh retry schedule.",
          "parameters": [{"$ref": "#/components/parameters/WebhookId"},
            {"name": "delivery_id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}}],
          "responses": {
            "202": {"description": "The delivery, pending.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookDelivery"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"},
            "503": {"$ref": "#/components/responses/Unavailable"}}}},
        "/api/schema/": {"get": {"operationId": "schema", "security": [], "summary": "This document.",
          "responses": {"200": {"description": "OpenAPI 3.1 document.", "content": {"application/vnd.oai.openapi+json": {"schema": {"type": "object"}}}}}}},
        "/healthz": {"get": {"operationId": "healthz", "security": [], "summary": "Liveness.",
          "responses": {"200": {"description": "Alive.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
        "/readyz": {"get": {"operationId": "readyz", "security": [], "summary": "Readiness: the database, the broker and storage answer.",
          "responses": {
            "200": {"description": "Ready.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
            "503": {"description": "A dependency is down.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
        "/metrics": {"get": {"operationId": "metrics", "security": [], "summary": "Prometheus metrics.",
          "responses": {"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
      },
      "components": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "parameters": {
          "MediaId": {"name": "id", "in": "path", "required": true, "example": 1,
            "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}},
          "WebhookId": {"name": "id", "in": "path", "required": true, "example": 1,
            "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}}},
        "headers": {"ETag": {"schema": {"type": "string"}},
          "RateLimitLimit": {"description": "The burst: uploads a user may send at once (on every upload answer of a user the rate limit applies to: not staff, not with MEDIA_UPLOAD_RATE=off).", "schema": {"type": "integer", "minimum": 1}},
          "RateLimitRemaining": {"description": "Uploads the caller may send right now.", "schema": {"type": "integer", "minimum": 0}},
          "RateLimitReset": {"description": "Seconds until the whole burst is available again.", "schema": {"type": "integer", "minimum": 0}}},
        "responses": {
          "Unauthorized": {"description": "not_authenticated (no Authorization header) or token_invalid.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "NotFound": {"description": "not_found: no such media, or another user's private media.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Unavailable": {"description": "database_unavailable or storage_unavailable; try again (Retry-After).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Forbidden": {"description": "permission_denied: a staff route with a token that is not a staff member's.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "BadRequest": {"description": "invalid_json, invalid_request, invalid_filter or invalid_parameter.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "TooLarge": {"description": "request_too_large: a body over 64 KiB.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "NotJSON": {"description": "unsupported_media_type: a body that is not application/json.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "RateLimited": {"description": "rate_limited: the caller's uploads are over MEDIA_UPLOAD_RATE with its burst (SPEC §10), held across every Gateway. Retry-After says in whole seconds (at least 1) when one more is allowed.",
            "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}, "RateLimit-Limit": {"$ref": "#/components/headers/RateLimitLimit"},
              "RateLimit-Remaining": {"$ref": "#/components/headers/RateLimitRemaining"}, "RateLimit-Reset": {"$ref": "#/components/headers/RateLimitReset"}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        "schemas": {
          "Error": {"type": "object", "required": ["detail", "code"], "additionalProperties": false,
            "properties": {"detail": {"type": "string"}, "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}}},
          "Quota": {"type": "object", "required": ["limit_bytes", "used_bytes", "reserved_bytes", "available_bytes"], "additionalProperties": false,
            "properties": {"limit_bytes": {"type": "integer", "minimum": 0}, "used_bytes": {"type": "integer"},
              "reserved_bytes": {"type": "integer", "minimum": 0}, "available_bytes": {"type": "integer", "minimum": 0}}},
          "UserQuota": {"type": "object", "required": ["user_id", "limit_bytes", "used_bytes", "reserved_bytes", "available_bytes", "is_default"], "additionalProperties": false,
            "properties": {"user_id": {"type": "integer", "minimum": 1}, "limit_bytes": {"type": "integer", "minimum": 0}, "used_bytes": {"type": "integer"},
              "reserved_bytes": {"type": "integer", "minimum": 0}, "available_bytes": {"type": "integer", "minimum": 0},
              "is_default": {"type": "boolean", "description": "True when the user has no limit of their own (MEDIA_QUOTA_BYTES applies)."}}},
          "Health": {"type": "object", "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["ok", "ready", "unavailable"]}, "dependency": {"type": "string"}}},
          "Media": {"type": "object", "additionalProperties": false,
            "required": ["id", "user", "user_username", "file_type", "status", "file_size", "mime_type", "original_filename",
                         "display_url", "thumbnail_url", "urls", "width", "height", "duration", "bitrate", "metadata",
                         "is_public", "sha256", "created_at", "updated_at"],
            "properties": {
              "id": {"type": "integer", "minimum": 1}, "user": {"type": "integer"}, "user_username": {"type": "string"},
              "file_type": {"type": "string", "enum": ["image", "video", "audio"]},
              "status": {"type": "string", "enum": ["uploading", "processing", "ready", "failed"]},
              "file_size": {"type": "integer", "minimum": 1},
              "mime_type": {"type": "string"}, "original_filename": {"type": "string", "maxLength": 255},
              "display_url": {"type": "string", "format": "uri"},
              "thumbnail_url": {"type": ["string", "null"], "format": "uri"},
              "urls": {"type": "object", "required": ["original"],
                       "additionalProperties": {"type": ["string", "null"], "format": "uri"}},
              "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
              "duration": {"type": ["number", "null"]}, "bitrate": {"type": ["integer", "null"]},
              "metadata": {"type": "object"}, "is_public": {"type": "boolean"},
              "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the original as uploaded (SPEC §13); null until the Janitor's backfill hashes a media stored before it existed."},
              "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
          "MediaPage": {"type": "object", "required": ["count", "next", "previous", "results"], "additionalProperties": false,
            "properties": {"count": {"type": "integer", "minimum": 0},
              "next": {"type": ["string", "null"], "format": "uri"}, "previous": {"type": ["string", "null"], "format": "uri"},
              "results": {"type": "array", "maxItems": 100, "items": {"$ref": "#/components/schemas/Media"}}}},
          "Counts": {"type": "integer", "minimum": 0},
          "WebhookCreate": {"type": "object", "required": ["url", "events"],
            "properties": {"url": {"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://", "maxLength": 2048},
              "events": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ["media.progress", "media.ready", "media.failed", "media.deleted"]}}}},
          "Webhook": {"type": "object", "required": ["id", "url", "events", "created_at"], "additionalProperties": false,
            "properties": {"id": {"type": "integer", "minimum": 1}, "url": {"type": "string", "format": "uri"},
              "events": {"type": "array", "items": {"type": "string", "enum": ["media.progress", "media.ready", "media.failed", "media.deleted"]}},
              "secret": {"type": "string", "pattern": "^whsec_"}, "created_at": {"type": "string", "format": "date-time"}}},
          "WebhookDelivery": {"type": "object", "required": ["id", "event_id", "type", "status", "next_attempt_at", "created_at", "attempts"],
            "properties": {"id": {"type": "integer", "minimum": 1}, "event_id": {"type": "integer"},
              "type": {"type": "string", "enum": ["media.progress", "media.ready", "media.failed", "media.deleted"]},
              "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
              "next_attempt_at": {"type": ["string", "null"], "format": "date-time"}, "created_at": {"type": "string", "format": "date-time"},
              "attempts": {"type": "array", "items": {"type": "object", "required": ["status", "response_code", "error", "time", "duration_ms"],
                "properties": {"status": {"type": "string", "enum": ["succeeded", "failed"]}, "response_code": {"type": ["integer", "null"]},
                  "error": {"type": ["string", "null"]}, "time": {"type": "string", "format": "date-time"}, "duration_ms": {"type": "integer", "minimum": 0}}}}}},
          "DeadLetterPage": {"type": "object", "required": ["groups", "count", "next", "previous", "results"],
            "properties": {
              "groups": {"type": "array", "items": {"type": "object", "required": ["queue", "code", "count", "oldest", "newest"],
                "properties": {"queue": {"type": "string"}, "code": {"type": "string"}, "count": {"type": "integer", "minimum": 1},
                  "oldest": {"type": ["string", "null"], "format": "date-time"}, "newest": {"type": ["string", "null"], "format": "date-time"}}}},
              "count": {"type": "integer", "minimum": 0},
              "next": {"type": ["string", "null"], "format": "uri"}, "previous": {"type": ["string", "null"], "format": "uri"},
              "results": {"type": "array", "items": {"type": "object",
                "required": ["queue", "event_id", "type", "code", "message", "attempts", "first_failed_at", "replays", "media_id", "generation"],
                "properties": {"queue": {"type": "string"}, "event_id": {"type": "string"}, "type": {"type": "string"},
                  "code": {"type": "string"}, "message": {"type": "string"}, "attempts": {"type": "integer"},
                  "first_failed_at": {"type": ["string", "null"], "format": "date-time"}, "replays": {"type": "integer"},
                  "media_id": {"type": ["integer", "null"]}, "generation": {"type": ["integer", "null"]}}}}}},
          "ReplayReport": {"type": "object", "required": ["replayed", "replayed_event_ids", "skipped", "dry_run"],
            "properties": {"replayed": {"type": "integer", "minimum": 0}, "replayed_event_ids": {"type": "array", "items": {"type": "string"}},
              "skipped": {"type": "array", "items": {"type": "object", "required": ["event_id", "reason"],
                "properties": {"event_id": {"type": "string"}, "reason": {"type": "string"}}}},
              "dry_run": {"type": "boolean"}}},
          "BulkResult": {"type": "object", "required": ["action", "done", "skipped"],
            "properties": {"action": {"type": "string"}, "done": {"type": "array", "items": {"type": "integer"}},
              "skipped": {"type": "array", "items": {"type": "object", "required": ["id", "reason"],
                "properties": {"id": {"type": "integer"}, "reason": {"type": "string"}}}}}},
          "JanitorRun": {"type": "object", "required": ["id", "task", "trigger", "instance", "dry_run", "started_at", "finished_at", "counts", "error"],
            "properties": {"id": {"type": "integer"}, "task": {"type": "string"}, "trigger": {"type": "string"},
              "instance": {"type": "string"}, "dry_run": {"type": "boolean"},
              "started_at": {"type": "string", "format": "date-time"}, "finished_at": {"type": ["string", "null"], "format": "date-time"},
              "counts": {"type": "object", "additionalProperties": {"type": "integer"}}, "error": {"type": ["string", "null"]}}},
          "Stats": {"type": "object", "required": ["total", "by_type", "by_status", "total_size"], "additionalProperties": false,
            "properties": {"total": {"type": "integer", "minimum": 0}, "total_size": {"type": "integer", "minimum": 0},
              "by_type": {"type": "object", "required": ["image", "video", "audio"], "additionalProperties": false,
                "properties": {"image": {"$ref": "#/components/schemas/Counts"}, "video": {"$ref": "#/components/schemas/Counts"}, "audio": {"$ref": "#/components/schemas/Counts"}}},
              "by_status": {"type": "object", "required": ["ready", "processing", "failed", "uploading"], "additionalProperties": false,
                "properties": {"ready": {"$ref": "#/components/schemas/Counts"}, "processing": {"$ref": "#/components/schemas/Counts"},
                  "failed": {"$ref": "#/components/schemas/Counts"}, "uploading": {"$ref": "#/components/schemas/Counts"}}}}}
        }
      }
    }
    """#
}
