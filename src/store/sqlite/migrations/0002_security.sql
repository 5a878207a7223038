CREATE TABLE `acl_rules` (
	`id` integer PRIMARY KEY NOT NULL,
	`position` integer NOT NULL,
	`username` text,
	`client_id` text,
	`anonymous` integer NOT NULL,
	`topic` text NOT NULL,
	`action` text NOT NULL,
	`permission` text NOT NULL,
	`max_qos` integer,
	`retain` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `acl_rules_position` ON `acl_rules` (`position`);--> statement-breakpoint
CREATE TABLE `bans` (
	`kind` text NOT NULL,
	`value` text NOT NULL,
	`reason` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	PRIMARY KEY(`kind`, `value`)
);
--> statement-breakpoint
CREATE INDEX `bans_expires_at` ON `bans` (`expires_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`username` text PRIMARY KEY NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
