# Sidekiq jobs for sidekiq_workload.rb (tests/integration/test_frameworks.py):
# loaded by the workload (the client side) and by the sidekiq process it
# starts (-r this file).  FW_URL names the server (redis://host:port/db).
require 'sidekiq'

Sidekiq.configure_server { |c| c.redis = { url: ENV.fetch('FW_URL') } }
Sidekiq.configure_client { |c| c.redis = { url: ENV.fetch('FW_URL') } }
# The scheduler polls every second or so, not after 10 s + 5-15 s.
Sidekiq.options[:poll_interval_average] = 1

# Each run writes its result into a hash the workload reads back.
class SquareJob
  include Sidekiq::Worker
  sidekiq_options retry: 1

  def perform(i)
    Sidekiq.redis { |r| r.hset('fwsk:results', i.to_s, (i * i).to_s) }
  end
end

# Fails at once, no retry: ends in the dead set.
class FailJob
  include Sidekiq::Worker
  sidekiq_options retry: 0

  def perform
    raise 'boom'
  end
end
