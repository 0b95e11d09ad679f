-- One database per service (run once by the MariaDB image on an empty data volume).
-- The `pos` user is created by the image from MARIADB_USER / MARIADB_PASSWORD.
CREATE DATABASE IF NOT EXISTS pos_identity  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS pos_catalog   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS pos_inventory CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS pos_sales     CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS pos_payments  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS pos_reports   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

GRANT ALL PRIVILEGES ON pos_identity.*  TO 'pos'@'%';
GRANT ALL PRIVILEGES ON pos_catalog.*   TO 'pos'@'%';
GRANT ALL PRIVILEGES ON pos_inventory.* TO 'pos'@'%';
GRANT ALL PRIVILEGES ON pos_sales.*     TO 'pos'@'%';
GRANT ALL PRIVILEGES ON pos_payments.*  TO 'pos'@'%';
GRANT ALL PRIVILEGES ON pos_reports.*   TO 'pos'@'%';
