-- A message row lives while a delivery, a retained entry or a will references it (hand-written:
-- drizzle-kit does not model triggers). Cascading deletes from `sessions` fire these too. The store
-- never changes a row's message_id in place (a replaced will or retained message is deleted and
-- inserted), so deletes are the only way a reference goes.
CREATE TRIGGER `deliveries_message_gc` AFTER DELETE ON `deliveries` BEGIN
	DELETE FROM `messages` WHERE `id` = OLD.`message_id` AND NOT EXISTS (SELECT 1 FROM `deliveries` WHERE `message_id` = OLD.`message_id`) AND NOT EXISTS (SELECT 1 FROM `retained` WHERE `message_id` = OLD.`message_id`) AND NOT EXISTS (SELECT 1 FROM `wills` WHERE `message_id` = OLD.`message_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `retained_message_gc` AFTER DELETE ON `retained` BEGIN
	DELETE FROM `messages` WHERE `id` = OLD.`message_id` AND NOT EXISTS (SELECT 1 FROM `deliveries` WHERE `message_id` = OLD.`message_id`) AND NOT EXISTS (SELECT 1 FROM `retained` WHERE `message_id` = OLD.`message_id`) AND NOT EXISTS (SELECT 1 FROM `wills` WHERE `message_id` = OLD.`message_id`);
END;
--> statement-breakpoint
CREATE TRIGGER `wills_message_gc` AFTER DELETE ON `wills` BEGIN
	DELETE FROM `messages` WHERE `id` = OLD.`message_id` AND NOT EXISTS (SELECT 1 FROM `deliveries` WHERE `message_id` = OLD.`message_id`) AND NOT EXISTS (SELECT 1 FROM `retained` WHERE `message_id` = OLD.`message_id`) AND NOT EXISTS (SELECT 1 FROM `wills` WHERE `message_id` = OLD.`message_id`);
END;
