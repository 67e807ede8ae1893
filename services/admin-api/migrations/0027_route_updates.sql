-- Routes can be changed and disabled (issue 16), and serve direct debit
-- and mobile money as well as cards: a disabled route is kept, with its
-- settings, but the runtime is not sent it (docs/routing.md).
SET lock_timeout = '5s';

ALTER TABLE admin.routes ADD COLUMN disabled boolean NOT NULL DEFAULT false;
ALTER TABLE admin.routes DROP CONSTRAINT routes_payment_method_check;
ALTER TABLE admin.routes ADD CONSTRAINT routes_payment_method_check
    CHECK (payment_method IN ('card', 'direct_debit', 'mobile_money'));
