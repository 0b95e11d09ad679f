from pos_platform.settings import ServiceSettings


class Settings(ServiceSettings):
    currency: str = "EUR"
    # Largest CSV accepted by POST /api/catalog/imports (the gateway has its own limit,
    # client_max_body_size: raise both for bigger files, or split them).
    import_max_bytes: int = 64 * 1024 * 1024
    # Largest product image accepted (PUT /api/catalog/products/{id}/image); the gateway
    # lets 6 MB through on that route (gateway/nginx.conf.template).
    image_max_bytes: int = 5 * 1024 * 1024
